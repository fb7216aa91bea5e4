/*
 * blo_adapt_util: failing with the record and field named, strict reading
 * of JSON records, value checks and the alert's JSON form for the agency
 * mappers.
 */
#include "blo_adapt_util.h"

#include "blo_codec.h"
#include "blo_util.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- failing */

int blo_adapt_fail(blo_adapt_ctx_t *c, const char *field, const char *fmt, ...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(c->why->field, sizeof(c->why->field), "%s", field != NULL ? field : "");
	if (field != NULL && field[0] != '\0')
		return blo_err_set(&c->why->err, BLO_EINVAL, "%s record %zu (line %zu): field \"%s\": %s",
				   blo_adapt_agency_name(c->agency), c->rec->number, c->rec->line,
				   field, what);
	return blo_err_set(&c->why->err, BLO_EINVAL, "%s record %zu (line %zu): %s",
			   blo_adapt_agency_name(c->agency), c->rec->number, c->rec->line, what);
}

void blo_adapt_path(char *buf, size_t size, const char *path, const char *key)
{
	if (path == NULL || path[0] == '\0')
		snprintf(buf, size, "%s", key);
	else
		snprintf(buf, size, "%s.%s", path, key);
}

/* A value quoted for a message: at most 40 bytes, cut on a UTF-8 boundary. */
static const char *show(char *buf, size_t size, const char *s)
{
	size_t n = strlen(s), cut = n;

	if (cut > 40) {
		cut = 40;
		while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
			cut--;
	}
	snprintf(buf, size, "\"%.*s%s\"", (int)cut, s, cut < n ? "..." : "");
	for (char *p = buf; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20)
			*p = '?';
	return buf;
}

/* ---------------------------------------------------------------- JSON */

int blo_adapt_json_record(blo_adapt_ctx_t *c, cJSON **out)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(c->rec->text, c->rec->len, &end, false);

	*out = NULL;
	if (root == NULL) {
		const char *at = cJSON_GetErrorPtr();
		size_t pos = at != NULL && at >= c->rec->text && at <= c->rec->text + c->rec->len
				     ? (size_t)(at - c->rec->text)
				     : 0;

		return blo_adapt_fail(c, NULL, "not valid JSON (near byte %zu)", pos);
	}
	if (end != NULL) {
		while (end < c->rec->text + c->rec->len && isspace((unsigned char)*end))
			end++;
		if (end < c->rec->text + c->rec->len) {
			cJSON_Delete(root);
			return blo_adapt_fail(c, NULL, "text after the JSON object (byte %zu)",
					      (size_t)(end - c->rec->text));
		}
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return blo_adapt_fail(c, NULL, "not a JSON object");
	}
	*out = root;
	return 0;
}

int blo_adapt_map_json_record(const blo_adapt_rules_t *rules, blo_adapt_agency_t agency,
			      const blo_adapt_record_t *rec, blo_adapt_json_map_fn map,
			      Blonet__Alert **out, blo_adapt_reject_t *why)
{
	blo_adapt_ctx_t c = {.rules = rules, .agency = agency, .rec = rec, .why = why};
	cJSON *root = NULL;
	int rc;

	*out = NULL;
	memset(why, 0, sizeof(*why));
	if (rec->problem != NULL)
		return blo_adapt_fail(&c, NULL, "%s", rec->problem);
	if ((rc = blo_adapt_json_record(&c, &root)) != 0)
		return rc;
	rc = map(&c, root, out);
	cJSON_Delete(root);
	return rc;
}

int blo_adapt_json_keys(blo_adapt_ctx_t *c, const cJSON *obj, const char *path,
			const char *const *known)
{
	char field[128];

	for (const cJSON *it = obj->child; it != NULL; it = it->next) {
		bool ok = false;

		if (it->string == NULL)
			continue;
		blo_adapt_path(field, sizeof(field), path, it->string);
		for (size_t i = 0; known[i] != NULL && !ok; i++)
			ok = strcmp(known[i], it->string) == 0;
		if (!ok)
			return blo_adapt_fail(c, field, "unknown field");
		for (const cJSON *prev = obj->child; prev != it; prev = prev->next)
			if (prev->string != NULL && strcmp(prev->string, it->string) == 0)
				return blo_adapt_fail(c, field, "given twice");
	}
	return 0;
}

/* cJSON_GetObjectItemCaseSensitive, but NULL for a JSON null. */
static const cJSON *item(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNull(it) ? NULL : it;
}

static const char *type_name(const cJSON *it)
{
	if (cJSON_IsString(it))
		return "a string";
	if (cJSON_IsNumber(it))
		return "a number";
	if (cJSON_IsBool(it))
		return "a boolean";
	if (cJSON_IsArray(it))
		return "an array";
	if (cJSON_IsObject(it))
		return "an object";
	return "a value";
}

int blo_adapt_check_text(blo_adapt_ctx_t *c, const char *field, const char *s, size_t max,
			 bool multiline)
{
	size_t n = strlen(s);

	if (n > max)
		return blo_adapt_fail(c, field, "longer than %zu bytes", max);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch < 0x20 || ch == 0x7f) && !(multiline && (ch == '\n' || ch == '\t' || ch == '\r')))
			return blo_adapt_fail(c, field, "control character 0x%02x at byte %zu", ch, i);
	}
	/* cJSON decodes \u escapes without checking them. */
	if (blo_adapt_utf8_check(s, n) != n)
		return blo_adapt_fail(c, field, "not valid UTF-8");
	return 0;
}

int blo_adapt_json_string(blo_adapt_ctx_t *c, const cJSON *obj, const char *path, const char *key,
			  unsigned flags, size_t max, const char **out)
{
	const cJSON *it = item(obj, key);
	char field[128];
	int rc;

	*out = NULL;
	blo_adapt_path(field, sizeof(field), path, key);
	if (it != NULL && !cJSON_IsString(it))
		return blo_adapt_fail(c, field, "expected a string, got %s", type_name(it));
	if (it == NULL || it->valuestring[0] == '\0') {
		if (flags & BLO_ADAPT_REQUIRED)
			return blo_adapt_fail(c, field, "missing");
		return 0;
	}
	if ((rc = blo_adapt_check_text(c, field, it->valuestring, max,
				       (flags & BLO_ADAPT_MULTILINE) != 0)) != 0)
		return rc;
	*out = it->valuestring;
	return 0;
}

int blo_adapt_json_number(blo_adapt_ctx_t *c, const cJSON *obj, const char *path, const char *key,
			  bool required, double min, double max, bool integral, double *out,
			  bool *present)
{
	const cJSON *it = item(obj, key);
	char field[128];
	double d;

	if (present != NULL)
		*present = false;
	blo_adapt_path(field, sizeof(field), path, key);
	if (it == NULL)
		return required ? blo_adapt_fail(c, field, "missing") : 0;
	if (!cJSON_IsNumber(it))
		return blo_adapt_fail(c, field, "expected a number, got %s", type_name(it));
	d = it->valuedouble;
	if (!isfinite(d) || d < min || d > max)
		return blo_adapt_fail(c, field, "%g is out of range %g..%g", d, min, max);
	if (integral && d != floor(d))
		return blo_adapt_fail(c, field, "%g is not a whole number", d);
	*out = d;
	if (present != NULL)
		*present = true;
	return 0;
}

int blo_adapt_json_array(blo_adapt_ctx_t *c, const cJSON *obj, const char *path, const char *key,
			 bool required, size_t max, const cJSON **out)
{
	const cJSON *it = item(obj, key);
	char field[128];

	*out = NULL;
	blo_adapt_path(field, sizeof(field), path, key);
	if (it == NULL)
		return required ? blo_adapt_fail(c, field, "missing") : 0;
	if (!cJSON_IsArray(it))
		return blo_adapt_fail(c, field, "expected an array, got %s", type_name(it));
	if (required && it->child == NULL)
		return blo_adapt_fail(c, field, "empty: at least one entry is needed");
	if ((size_t)cJSON_GetArraySize(it) > max)
		return blo_adapt_fail(c, field, "more than %zu entries", max);
	*out = it;
	return 0;
}

int blo_adapt_json_object(blo_adapt_ctx_t *c, const cJSON *obj, const char *path,
			  const char *key, bool required, const cJSON **out)
{
	const cJSON *it = item(obj, key);
	char field[128];

	*out = NULL;
	blo_adapt_path(field, sizeof(field), path, key);
	if (it == NULL)
		return required ? blo_adapt_fail(c, field, "missing") : 0;
	if (!cJSON_IsObject(it))
		return blo_adapt_fail(c, field, "expected an object, got %s", type_name(it));
	*out = it;
	return 0;
}

/* ---------------------------------------------------------------- values */

int blo_adapt_enum(blo_adapt_ctx_t *c, const char *field, const char *value,
		   const char *const *names, int *index)
{
	char list[256], shown[64];
	size_t o = 0;

	for (int i = 0; names[i] != NULL; i++) {
		if (strcmp(names[i], value) == 0) {
			*index = i;
			return 0;
		}
	}
	list[0] = '\0';
	for (int i = 0; names[i] != NULL && o < sizeof(list); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i > 0 ? ", " : "", names[i]);
	return blo_adapt_fail(c, field, "%s is not one of %s", show(shown, sizeof(shown), value),
			      list);
}

/* ISO 3166-1: alpha-3 then alpha-2, from the iso-codes package's table. */
static const char alpha3_table[] =
	"ABWAW AFGAF AGOAO AIAAI ALAAX ALBAL ANDAD AREAE ARGAR ARMAM ASMAS ATAAQ "
	"ATFTF ATGAG AUSAU AUTAT AZEAZ BDIBI BELBE BENBJ BESBQ BFABF BGDBD BGRBG "
	"BHRBH BHSBS BIHBA BLMBL BLRBY BLZBZ BMUBM BOLBO BRABR BRBBB BRNBN BTNBT "
	"BVTBV BWABW CAFCF CANCA CCKCC CHECH CHLCL CHNCN CIVCI CMRCM CODCD COGCG "
	"COKCK COLCO COMKM CPVCV CRICR CUBCU CUWCW CXRCX CYMKY CYPCY CZECZ DEUDE "
	"DJIDJ DMADM DNKDK DOMDO DZADZ ECUEC EGYEG ERIER ESHEH ESPES ESTEE ETHET "
	"FINFI FJIFJ FLKFK FRAFR FROFO FSMFM GABGA GBRGB GEOGE GGYGG GHAGH GIBGI "
	"GINGN GLPGP GMBGM GNBGW GNQGQ GRCGR GRDGD GRLGL GTMGT GUFGF GUMGU GUYGY "
	"HKGHK HMDHM HNDHN HRVHR HTIHT HUNHU IDNID IMNIM INDIN IOTIO IRLIE IRNIR "
	"IRQIQ ISLIS ISRIL ITAIT JAMJM JEYJE JORJO JPNJP KAZKZ KENKE KGZKG KHMKH "
	"KIRKI KNAKN KORKR KWTKW LAOLA LBNLB LBRLR LBYLY LCALC LIELI LKALK LSOLS "
	"LTULT LUXLU LVALV MACMO MAFMF MARMA MCOMC MDAMD MDGMG MDVMV MEXMX MHLMH "
	"MKDMK MLIML MLTMT MMRMM MNEME MNGMN MNPMP MOZMZ MRTMR MSRMS MTQMQ MUSMU "
	"MWIMW MYSMY MYTYT NAMNA NCLNC NERNE NFKNF NGANG NICNI NIUNU NLDNL NORNO "
	"NPLNP NRUNR NZLNZ OMNOM PAKPK PANPA PCNPN PERPE PHLPH PLWPW PNGPG POLPL "
	"PRIPR PRKKP PRTPT PRYPY PSEPS PYFPF QATQA REURE ROURO RUSRU RWARW SAUSA "
	"SDNSD SENSN SGPSG SGSGS SHNSH SJMSJ SLBSB SLESL SLVSV SMRSM SOMSO SPMPM "
	"SRBRS SSDSS STPST SURSR SVKSK SVNSI SWESE SWZSZ SXMSX SYCSC SYRSY TCATC "
	"TCDTD TGOTG THATH TJKTJ TKLTK TKMTM TLSTL TONTO TTOTT TUNTN TURTR TUVTV "
	"TWNTW TZATZ UGAUG UKRUA UMIUM URYUY USAUS UZBUZ VATVA VCTVC VENVE VGBVG "
	"VIRVI VNMVN VUTVU WLFWF WSMWS YEMYE ZAFZA ZMBZM ZWEZW ";

bool blo_adapt_alpha3_to_alpha2(const char *alpha3, char out[3])
{
	if (alpha3 == NULL || strlen(alpha3) != 3)
		return false;
	for (size_t i = 0; i + 6 <= sizeof(alpha3_table) - 1; i += 6) {
		if (memcmp(alpha3_table + i, alpha3, 3) == 0) {
			memcpy(out, alpha3_table + i + 3, 2);
			out[2] = '\0';
			return true;
		}
	}
	return false;
}

int blo_adapt_country(blo_adapt_ctx_t *c, const char *field, const char *value, bool alpha3,
		      char out[3])
{
	char shown[64], a2[3];
	bool ok = false;

	if (strlen(value) == 2 && blo_country_is_valid(value)) {
		memcpy(a2, value, 3);
		ok = true;
	} else if (alpha3) {
		ok = blo_adapt_alpha3_to_alpha2(value, a2) && blo_country_is_valid(a2);
	}
	if (!ok)
		return blo_adapt_fail(c, field, "%s is not an ISO 3166 %s country code",
				      show(shown, sizeof(shown), value),
				      alpha3 ? "alpha-3 or alpha-2" : "alpha-2");
	memcpy(out, a2, 3);
	return 0;
}

int64_t blo_adapt_civil_ms(int year, int month, int day, int hour, int minute, int second)
{
	/* Days from 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
	int64_t y = year - (month <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	int64_t days = era * 146097 + doe - 719468;

	return ((days * 24 + hour) * 60 + minute) * 60000 + (int64_t)second * 1000;
}

static int days_in_month(int year, int month)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

/* Reads exactly n digits at *p. */
static bool digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool parse_date(const char **p, int *y, int *m, int *d)
{
	return digits(p, 4, y) && *(*p)++ == '-' && digits(p, 2, m) && *(*p)++ == '-' &&
	       digits(p, 2, d) && *m >= 1 && *m <= 12 && *d >= 1 && *d <= days_in_month(*y, *m);
}

int blo_adapt_time(blo_adapt_ctx_t *c, const char *field, const char *s, int64_t *ms)
{
	const char *p = s;
	int y, mo, d, h, mi, sec = 0, frac = 0, oh = 0, om = 0;
	int64_t offset_min = c->rules->utc_offset_minutes;
	char shown[64];

	if (!parse_date(&p, &y, &mo, &d) || (*p != 'T' && *p != ' '))
		goto bad;
	p++;
	if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || h > 23 || mi > 59)
		goto bad;
	if (*p == ':') {
		p++;
		if (!digits(&p, 2, &sec) || sec > 59)
			goto bad;
		if (*p == '.') {
			int n = 0;

			p++;
			while (*p >= '0' && *p <= '9') {
				if (n < 3)
					frac = frac * 10 + (*p - '0');
				n++;
				p++;
			}
			if (n == 0)
				goto bad;
			for (; n < 3; n++)
				frac *= 10;
		}
	}
	if (*p == 'Z') {
		offset_min = 0;
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1;

		if (!digits(&p, 2, &oh))
			goto bad;
		if (*p == ':')
			p++;
		if (!digits(&p, 2, &om) || oh > 14 || om > 59)
			goto bad;
		offset_min = sign * (oh * 60 + om);
	}
	if (*p != '\0')
		goto bad;
	if (y < 1970 || y > 2199)
		return blo_adapt_fail(c, field, "year %d is out of range 1970..2199", y);
	*ms = blo_adapt_civil_ms(y, mo, d, h, mi, sec) + frac - offset_min * 60000;
	if (*ms > blo_now_ms() + 24 * 3600 * 1000LL)
		return blo_adapt_fail(c, field, "%s is in the future", show(shown, sizeof(shown), s));
	return 0;
bad:
	return blo_adapt_fail(c, field,
			      "%s is not a time like 2025-03-14T06:42:00+07:00 or 2025-03-14 06:42",
			      show(shown, sizeof(shown), s));
}

int blo_adapt_date(blo_adapt_ctx_t *c, const char *field, const char *s, int64_t not_after_ms)
{
	const char *p = s;
	int y, m, d;
	char shown[64];

	if (!parse_date(&p, &y, &m, &d) || *p != '\0')
		return blo_adapt_fail(c, field, "%s is not a date YYYY-MM-DD",
				      show(shown, sizeof(shown), s));
	if (y < 1900)
		return blo_adapt_fail(c, field, "%s is before 1900", show(shown, sizeof(shown), s));
	if (not_after_ms > 0 && blo_adapt_civil_ms(y, m, d, 0, 0, 0) > not_after_ms)
		return blo_adapt_fail(c, field, "%s is after the record's time",
				      show(shown, sizeof(shown), s));
	return 0;
}

int blo_adapt_hs_code(blo_adapt_ctx_t *c, const char *field, const char *s)
{
	size_t n = 0;
	bool ok = s[0] >= '0' && s[0] <= '9';
	char shown[64];

	for (const char *p = s; *p != '\0' && ok; p++) {
		if (*p >= '0' && *p <= '9')
			n++;
		else if (*p != '.' || p[1] == '.' || p[1] == '\0')
			ok = false;
	}
	if (!ok || n < 6 || n > 10)
		return blo_adapt_fail(c, field, "%s is not a 6- to 10-digit HS code",
				      show(shown, sizeof(shown), s));
	return 0;
}

int blo_adapt_phone(blo_adapt_ctx_t *c, const char *field, const char *s)
{
	size_t n = 0;
	char shown[64];

	if (s[0] == '+') {
		for (const char *p = s + 1; *p >= '0' && *p <= '9'; p++)
			n++;
		if (s[1] != '0' && s[1 + n] == '\0' && n >= 8 && n <= 15)
			return 0;
	}
	return blo_adapt_fail(c, field, "%s is not an E.164 number like +66812345678",
			      show(shown, sizeof(shown), s));
}

int blo_adapt_iso6346_check_digit(const char v[10])
{
	long sum = 0;

	for (int i = 0; i < 10; i++) {
		long val = v[i] - '0';

		if (v[i] >= 'A') {
			/* Letters count from 10 upward, skipping multiples of 11. */
			val = 10;
			for (char ch = 'A'; ch < v[i]; ch++) {
				val++;
				if (val % 11 == 0)
					val++;
			}
		}
		sum += val << i;
	}
	return (int)((sum % 11) % 10);
}

int blo_adapt_container(blo_adapt_ctx_t *c, const char *field, const char *s, char out[12])
{
	char v[12], shown[64];
	size_t n = 0;
	int digit;

	for (const char *p = s; *p != '\0'; p++) {
		if (*p == ' ' || *p == '-')
			continue;
		if (n == 11)
			goto bad;
		v[n++] = (char)toupper((unsigned char)*p);
	}
	if (n != 11)
		goto bad;
	v[11] = '\0';
	for (int i = 0; i < 4; i++)
		if (v[i] < 'A' || v[i] > 'Z')
			goto bad;
	if (v[3] != 'U' && v[3] != 'J' && v[3] != 'Z')
		goto bad;
	for (int i = 4; i < 11; i++)
		if (v[i] < '0' || v[i] > '9')
			goto bad;
	digit = blo_adapt_iso6346_check_digit(v);
	if (digit != v[10] - '0')
		return blo_adapt_fail(c, field, "%s: the check digit should be %d",
				      show(shown, sizeof(shown), s), digit);
	memcpy(out, v, 12);
	return 0;
bad:
	return blo_adapt_fail(c, field, "%s is not an ISO 6346 container number like MSKU1234565",
			      show(shown, sizeof(shown), s));
}

/* ---------------------------------------------------------------- text */

void blo_adapt_buf_printf(blo_adapt_buf_t *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->s != NULL ? b->s + b->len : NULL, b->s != NULL ? b->cap - b->len : 0, fmt,
		      ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if (b->s == NULL || b->len + (size_t)n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 128;
		char *grown;

		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		grown = realloc(b->s, cap);
		if (grown == NULL) {
			b->oom = true;
			return;
		}
		b->s = grown;
		b->cap = cap;
		va_start(ap, fmt);
		vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void blo_adapt_buf_free(blo_adapt_buf_t *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}

static const char *unit_word(int unit)
{
	switch (unit) {
	case BLONET__UNIT__KILOGRAM:
		return "kg";
	case BLONET__UNIT__GRAM:
		return "g";
	case BLONET__UNIT__LITRE:
		return "L";
	case BLONET__UNIT__TABLET:
		return "tablets";
	case BLONET__UNIT__PIECE:
		return "pieces";
	case BLONET__UNIT__CUBIC_METRE:
		return "m3";
	case BLONET__UNIT__HEAD:
		return "head";
	case BLONET__UNIT__PACKAGE:
		return "packages";
	case BLONET__UNIT__US_DOLLAR:
		return "USD";
	default:
		return "";
	}
}

void blo_adapt_qty_text(char *buf, size_t size, double quantity, int unit)
{
	if (quantity == floor(quantity) && fabs(quantity) < 1e15)
		snprintf(buf, size, "%.0f %s", quantity, unit_word(unit));
	else
		snprintf(buf, size, "%.3g %s", quantity, unit_word(unit));
}

int blo_adapt_seizure_urgency(int severity, bool at_large)
{
	if (at_large)
		return BLONET__URGENCY__IMMEDIATE;
	if (severity >= BLONET__SEVERITY__SEVERE)
		return BLONET__URGENCY__EXPECTED;
	if (severity == BLONET__SEVERITY__MODERATE)
		return BLONET__URGENCY__FUTURE;
	return BLONET__URGENCY__PAST;
}

/* ---------------------------------------------------------------- alert */

static cJSON *note(blo_adapt_ctx_t *c, cJSON *made)
{
	if (made == NULL)
		c->oom = true;
	return made;
}

void blo_adapt_put_str(blo_adapt_ctx_t *c, cJSON *obj, const char *key, const char *value)
{
	if (obj != NULL && value != NULL && value[0] != '\0')
		note(c, cJSON_AddStringToObject(obj, key, value));
}

void blo_adapt_put_num(blo_adapt_ctx_t *c, cJSON *obj, const char *key, double value)
{
	if (obj != NULL)
		note(c, cJSON_AddNumberToObject(obj, key, value));
}

void blo_adapt_put_enum(blo_adapt_ctx_t *c, cJSON *obj, const char *key,
			const ProtobufCEnumDescriptor *desc, int value)
{
	if (value != 0)
		blo_adapt_put_str(c, obj, key, blo_enum_name(desc, value));
}

cJSON *blo_adapt_put_obj(blo_adapt_ctx_t *c, cJSON *obj, const char *key)
{
	cJSON *it;

	if (obj == NULL)
		return NULL;
	it = cJSON_GetObjectItemCaseSensitive(obj, key);
	return it != NULL ? it : note(c, cJSON_AddObjectToObject(obj, key));
}

static cJSON *array_of(blo_adapt_ctx_t *c, cJSON *obj, const char *key)
{
	cJSON *arr;

	if (obj == NULL)
		return NULL;
	arr = cJSON_GetObjectItemCaseSensitive(obj, key);
	return arr != NULL ? arr : note(c, cJSON_AddArrayToObject(obj, key));
}

cJSON *blo_adapt_push_obj(blo_adapt_ctx_t *c, cJSON *obj, const char *key)
{
	cJSON *arr = array_of(c, obj, key), *it;

	if (arr == NULL)
		return NULL;
	it = note(c, cJSON_CreateObject());
	if (it != NULL && !cJSON_AddItemToArray(arr, it)) {
		cJSON_Delete(it);
		c->oom = true;
		return NULL;
	}
	return it;
}

void blo_adapt_push_str(blo_adapt_ctx_t *c, cJSON *obj, const char *key, const char *value)
{
	cJSON *arr, *it;

	if (value == NULL || value[0] == '\0' || (arr = array_of(c, obj, key)) == NULL)
		return;
	it = note(c, cJSON_CreateString(value));
	if (it != NULL && !cJSON_AddItemToArray(arr, it)) {
		cJSON_Delete(it);
		c->oom = true;
	}
}

void blo_adapt_attr(blo_adapt_ctx_t *c, cJSON *alert, const char *key, const char *value)
{
	cJSON *a;

	if (value == NULL || value[0] == '\0')
		return;
	a = blo_adapt_push_obj(c, alert, "attributes");
	blo_adapt_put_str(c, a, "key", key);
	blo_adapt_put_str(c, a, "value", value);
}

void blo_adapt_attr_int(blo_adapt_ctx_t *c, cJSON *alert, const char *key, long long value)
{
	char v[32];

	snprintf(v, sizeof(v), "%lld", value);
	blo_adapt_attr(c, alert, key, v);
}

cJSON *blo_adapt_alert_begin(blo_adapt_ctx_t *c, const char *source_ref, int64_t observed_ms)
{
	uint8_t id[BLO_ID_BYTES];
	char hex[2 * BLO_ID_BYTES + 1];
	Blonet__AgencyKind kind = blo_adapt_agency_kind(c->agency);
	cJSON *a = note(c, cJSON_CreateObject()), *o;

	blo_alert_derive_id(id, c->rules->country, kind, source_ref);
	blo_hex_encode(hex, sizeof(hex), id, BLO_ID_BYTES);
	blo_adapt_put_str(c, a, "id", hex);
	blo_adapt_put_str(c, a, "type", "ALERT");
	blo_adapt_put_enum(c, a, "status", &blonet__status__descriptor, c->rules->status);
	blo_adapt_put_num(c, a, "observed_ms", (double)observed_ms);
	blo_adapt_put_str(c, a, "source_ref", source_ref);
	o = blo_adapt_put_obj(c, a, "origin");
	blo_adapt_put_enum(c, o, "agency", &blonet__agency_kind__descriptor, kind);
	blo_adapt_put_str(c, o, "country", c->rules->country);
	blo_adapt_put_str(c, o, "agency_name", c->rules->agency[c->agency].agency_name);
	blo_adapt_put_str(c, a, "language", c->rules->language);
	return a;
}

void blo_adapt_assess(blo_adapt_ctx_t *c, cJSON *alert, int category, int severity, int urgency,
		      int certainty, int reliability, int grade)
{
	cJSON *s = blo_adapt_put_obj(c, alert, "assessment");

	blo_adapt_put_enum(c, s, "category", &blonet__category__descriptor, category);
	blo_adapt_put_enum(c, s, "severity", &blonet__severity__descriptor, severity);
	blo_adapt_put_enum(c, s, "urgency", &blonet__urgency__descriptor, urgency);
	blo_adapt_put_enum(c, s, "certainty", &blonet__certainty__descriptor, certainty);
	blo_adapt_put_enum(c, s, "source_reliability", &blonet__source_reliability__descriptor,
			   reliability);
	blo_adapt_put_enum(c, s, "information_grade", &blonet__information_grade__descriptor, grade);
}

void blo_adapt_handle(blo_adapt_ctx_t *c, cJSON *alert, const blo_adapt_crossing_t *crossing)
{
	const blo_adapt_agency_rules_t *ar = &c->rules->agency[c->agency];
	cJSON *h = blo_adapt_put_obj(c, alert, "handling");

	blo_adapt_put_enum(c, h, "tlp", &blonet__tlp__descriptor, ar->tlp != 0 ? ar->tlp : crossing->tlp);
	for (size_t i = 0; i < crossing->releasable_to.n; i++)
		blo_adapt_push_str(c, h, "releasable_to", crossing->releasable_to.v[i]);
	for (size_t i = 0; i < crossing->addressed_to.n; i++)
		blo_adapt_push_str(c, h, "addressed_to", crossing->addressed_to.v[i]);
	blo_adapt_put_str(c, h, "operation", ar->operation);
}

cJSON *blo_adapt_locate(blo_adapt_ctx_t *c, cJSON *alert, const blo_adapt_crossing_t *crossing,
			const char *place_name, const double *lat, const double *lon,
			int direction)
{
	cJSON *l = blo_adapt_put_obj(c, alert, "location"), *p;

	blo_adapt_put_str(c, l, "site", crossing->site);
	blo_adapt_put_str(c, l, "place_name", place_name);
	if (lat != NULL && lon != NULL) {
		p = blo_adapt_put_obj(c, l, "position");
		blo_adapt_put_num(c, p, "latitude", *lat);
		blo_adapt_put_num(c, p, "longitude", *lon);
	} else if (crossing->position.latitude != 0 || crossing->position.longitude != 0) {
		p = blo_adapt_put_obj(c, l, "position");
		blo_adapt_put_num(c, p, "latitude", crossing->position.latitude);
		blo_adapt_put_num(c, p, "longitude", crossing->position.longitude);
	}
	blo_adapt_put_enum(c, l, "direction", &blonet__direction__descriptor, direction);
	return l;
}

cJSON *blo_adapt_subject(blo_adapt_ctx_t *c, cJSON *alert, int kind, const char *name,
			 const char *role, const char *nationality, const char *birth_date,
			 const char *description)
{
	cJSON *s = blo_adapt_push_obj(c, alert, "subjects");

	blo_adapt_put_enum(c, s, "kind", &blonet__subject_kind__descriptor, kind);
	blo_adapt_put_str(c, s, "name", name);
	blo_adapt_put_str(c, s, "nationality", nationality);
	blo_adapt_put_str(c, s, "birth_date", birth_date);
	blo_adapt_put_str(c, s, "role", role);
	blo_adapt_put_str(c, s, "description", description);
	return s;
}

void blo_adapt_identifier(blo_adapt_ctx_t *c, cJSON *subject, const char *scheme,
			  const char *value, const char *issuer)
{
	cJSON *id;

	if (value == NULL || value[0] == '\0')
		return;
	id = blo_adapt_push_obj(c, subject, "identifiers");
	blo_adapt_put_str(c, id, "scheme", scheme);
	blo_adapt_put_str(c, id, "value", value);
	blo_adapt_put_str(c, id, "issuer", issuer);
}

void blo_adapt_commodity(blo_adapt_ctx_t *c, cJSON *alert, const blo_adapt_class_t *cls,
			 const char *name, const char *hs_code, const char *species,
			 double quantity, int unit, const char *concealment)
{
	cJSON *m = blo_adapt_push_obj(c, alert, "commodities");

	blo_adapt_put_enum(c, m, "kind", &blonet__commodity_kind__descriptor,
			   cls != NULL ? cls->kind : BLONET__COMMODITY_KIND__COMMODITY_OTHER);
	blo_adapt_put_str(c, m, "name", name);
	blo_adapt_put_str(c, m, "hs_code", hs_code);
	blo_adapt_put_str(c, m, "species", species != NULL ? species : cls != NULL ? cls->species : NULL);
	if (quantity > 0) {
		blo_adapt_put_num(c, m, "quantity", quantity);
		blo_adapt_put_enum(c, m, "unit", &blonet__unit__descriptor, unit);
	}
	blo_adapt_put_str(c, m, "concealment", concealment);
}

int blo_adapt_alert_end(blo_adapt_ctx_t *c, cJSON *alert, Blonet__Alert **out)
{
	ProtobufCMessage *msg = NULL;
	Blonet__Alert *a;
	blo_err_t err = { 0 };
	char *principal;
	int rc;

	*out = NULL;
	if (c->oom || alert == NULL) {
		cJSON_Delete(alert);
		return blo_err_set(&c->why->err, BLO_ENOMEM, "out of memory");
	}
	rc = blo_json_to_message(&blonet__alert__descriptor, alert, &msg, &err);
	cJSON_Delete(alert);
	if (rc == BLO_ENOMEM)
		return blo_err_set(&c->why->err, BLO_ENOMEM, "out of memory");
	if (rc != 0)
		return blo_adapt_fail(c, NULL, "cannot be normalized: %s", err.msg);
	a = (Blonet__Alert *)msg;
	/* Validate as it will be sent: the publisher adds its principal and
	 * the time it is sent. */
	principal = a->origin->principal;
	a->origin->principal = (char *)"adapter";
	a->sent_ms = a->observed_ms > 0 ? a->observed_ms : 1;
	rc = blo_alert_validate(a, &err);
	a->origin->principal = principal;
	a->sent_ms = 0;
	if (rc != 0) {
		blo_alert_free(&a);
		return blo_adapt_fail(c, NULL, "cannot be normalized: %s", err.msg);
	}
	*out = a;
	return 0;
}

/* ---- the route, as customs and narcotics exports both give it ---- */

#define ROUTE_MAX_VIA 10

int blo_adapt_route(blo_adapt_ctx_t *c, cJSON *location, const cJSON *route, bool alpha3,
		    char from[3], char to[3])
{
	static const char *const route_keys[] = {"from_country", "from_place", "to_country",
						 "to_place", "via", NULL};
	const char *fc, *fp, *tc, *tp;
	char fc2[3] = "", tc2[3] = "";
	const cJSON *via;
	cJSON *r;
	size_t i = 0;
	int rc;

	if ((rc = blo_adapt_json_keys(c, route, "route", route_keys)) != 0 ||
	    (rc = blo_adapt_json_string(c, route, "route", "from_country", 0, 8, &fc)) != 0 ||
	    (rc = blo_adapt_json_string(c, route, "route", "from_place", 0, 128, &fp)) != 0 ||
	    (rc = blo_adapt_json_string(c, route, "route", "to_country", 0, 8, &tc)) != 0 ||
	    (rc = blo_adapt_json_string(c, route, "route", "to_place", 0, 128, &tp)) != 0 ||
	    (rc = blo_adapt_json_array(c, route, "route", "via", false, ROUTE_MAX_VIA, &via)) != 0)
		return rc;
	if (fc != NULL && (rc = blo_adapt_country(c, "route.from_country", fc, alpha3, fc2)) != 0)
		return rc;
	if (tc != NULL && (rc = blo_adapt_country(c, "route.to_country", tc, alpha3, tc2)) != 0)
		return rc;
	r = blo_adapt_put_obj(c, location, "route");
	blo_adapt_put_str(c, r, "from_country", fc2);
	blo_adapt_put_str(c, r, "to_country", tc2);
	blo_adapt_put_str(c, r, "from_place", fp);
	blo_adapt_put_str(c, r, "to_place", tp);
	for (const cJSON *v = via != NULL ? via->child : NULL; v != NULL; v = v->next, i++) {
		char field[32];

		snprintf(field, sizeof(field), "route.via[%zu]", i);
		if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
			return blo_adapt_fail(c, field, "expected a place name");
		if ((rc = blo_adapt_check_text(c, field, v->valuestring, 128, false)) != 0)
			return rc;
		blo_adapt_push_str(c, r, "via", v->valuestring);
	}
	if (from != NULL)
		memcpy(from, fc2, 3);
	if (to != NULL)
		memcpy(to, tc2, 3);
	return 0;
}
