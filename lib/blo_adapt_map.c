/*
 * blo_adapt_map: a source of mapped records: blo_adapt_input frames the
 * agency's export and the agency's mapper turns each record into an alert
 * or a rejection.
 */
#include "blo_adapt_map.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct blo_adapt_source {
	blo_adapt_agency_t agency;
	const blo_adapt_rules_t *rules;
	blo_adapt_input_t *input;
	blo_adapt_csv_header_t *header;
};

int blo_adapt_source_open(blo_adapt_source_t **out, blo_adapt_agency_t agency,
			  const blo_adapt_rules_t *rules, FILE *in, blo_err_t *err)
{
	blo_adapt_source_t *self;
	int rc;

	*out = NULL;
	assert(agency >= 0 && agency < BLO_ADAPT_AGENCIES);
	if (!blo_adapt_rules_has(rules, agency))
		return blo_err_set(err, BLO_ECONFIG, "the rules have no \"%s\" section",
				   blo_adapt_agency_name(agency));
	self = calloc(1, sizeof(*self));
	if (self == NULL)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	self->agency = agency;
	self->rules = rules;
	rc = blo_adapt_input_open(&self->input, agency == BLO_ADAPT_IMMIGRATION ? BLO_ADAPT_CSV
										: BLO_ADAPT_JSON_LINES,
				  in, err);
	if (rc == 0 && agency == BLO_ADAPT_IMMIGRATION) {
		blo_adapt_record_t header;
		blo_adapt_reject_t why;

		rc = blo_adapt_input_next(self->input, &header, err);
		if (rc == 0)
			rc = blo_err_set(err, BLO_EPARSE, "no header row: the input is empty");
		else if (rc > 0 && (rc = blo_adapt_immigration_header(&self->header, &header, &why)) != 0)
			rc = blo_err_set(err, rc == BLO_ENOMEM ? rc : BLO_EPARSE, "%s", why.err.msg);
	}
	if (rc != 0) {
		blo_adapt_source_close(&self);
		return rc;
	}
	*out = self;
	return 0;
}

int blo_adapt_source_next(blo_adapt_source_t *self, blo_adapt_item_t *item, blo_err_t *err)
{
	blo_adapt_record_t rec;
	int rc;

	memset(item, 0, sizeof(*item));
	if ((rc = blo_adapt_input_next(self->input, &rec, err)) <= 0)
		return rc;
	item->number = rec.number;
	item->line = rec.line;
	item->text = rec.text;
	item->len = rec.len;
	switch (self->agency) {
	case BLO_ADAPT_CUSTOMS:
		rc = blo_adapt_map_customs(self->rules, &rec, &item->alert, &item->why);
		break;
	case BLO_ADAPT_IMMIGRATION:
		rc = blo_adapt_map_immigration(self->rules, self->header, &rec, &item->alert,
					       &item->why);
		break;
	default:
		rc = blo_adapt_map_narcotics(self->rules, &rec, &item->alert, &item->why);
		break;
	}
	if (rc == BLO_ENOMEM)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	return 1;
}

void blo_adapt_source_close(blo_adapt_source_t **self_p)
{
	if (self_p == NULL || *self_p == NULL)
		return;
	blo_adapt_input_close(&(*self_p)->input);
	free((*self_p)->header);
	free(*self_p);
	*self_p = NULL;
}
