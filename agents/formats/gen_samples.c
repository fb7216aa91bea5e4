/*
 * gen_samples: writes the sample exports of agents/formats/samples/, the
 * same bytes on every run (a fixed-seed generator, no clock, no locale):
 * customs seizure records, immigration checkpoint hits and narcotics case
 * reports at the Thai side of Mae Sai, Chiang Saen and Chiang Khong in 2025,
 * in the formats of customs.md, immigration.md and narcotics.md, valid
 * against rules-th.json. Not part of the build:
 *
 *   cc -std=c11 -O2 -o /tmp/gen_samples agents/formats/gen_samples.c
 *   /tmp/gen_samples agents/formats/samples 240
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- random */

static uint64_t rng_state = 0x5eed2025b10c0001ULL;

static uint64_t next_u64(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static long rnd(long lo, long hi)
{
	return lo + (long)(next_u64() % (uint64_t)(hi - lo + 1));
}

static int chance(int percent)
{
	return rnd(1, 100) <= percent;
}

/* Natural logarithm and exponential by series, so that the samples do not
 * depend on the platform's libm. */
static double ln_series(double x)
{
	double k = 0, y, y2, term, sum = 0;

	while (x >= 2) {
		x /= 2;
		k++;
	}
	y = (x - 1) / (x + 1);
	y2 = y * y;
	term = y;
	for (int i = 1; i < 60; i += 2) {
		sum += term / i;
		term *= y2;
	}
	return k * 0.6931471805599453 + 2 * sum;
}

static double exp_series(double x)
{
	double sum = 1, term = 1;

	for (int i = 1; i < 80; i++) {
		term *= x / i;
		sum += term;
	}
	return sum;
}

/* Log-uniform in [lo, hi], rounded to `round`: seizure sizes spread over
 * orders of magnitude, small ones the most frequent. */
static double spread(double lo, double hi, double round)
{
	double u = (double)(next_u64() >> 11) / 9007199254740992.0;
	double v = lo * exp_series(u * ln_series(hi / lo));

	if (round > 0)
		v = (double)(long long)(v / round + 0.5) * round;
	if (v < lo)
		v = lo;
	return v;
}

#define PICK(a) ((a)[rnd(0, (long)N(a) - 1)])

/* ---------------------------------------------------------------- output */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*s, f);
	}
	fputc('"', f);
}

/* "key":"value" with a leading comma unless first. */
static void jkv(FILE *f, int *first, const char *key, const char *value)
{
	fprintf(f, "%s\"%s\":", *first ? "" : ",", key);
	json_str(f, value);
	*first = 0;
}

static void jkn(FILE *f, int *first, const char *key, double value)
{
	if (value == (double)(long long)value)
		fprintf(f, "%s\"%s\":%lld", *first ? "" : ",", key, (long long)value);
	else
		fprintf(f, "%s\"%s\":%.3f", *first ? "" : ",", key, value);
	*first = 0;
}

static void jkey(FILE *f, int *first, const char *key)
{
	fprintf(f, "%s\"%s\":", *first ? "" : ",", key);
	*first = 0;
}

static void csv_field(FILE *f, const char *s, int last)
{
	if (strpbrk(s, ",\"\n\r") != NULL) {
		fputc('"', f);
		for (; *s != '\0'; s++) {
			if (*s == '"')
				fputc('"', f);
			fputc(*s, f);
		}
		fputc('"', f);
	} else {
		fputs(s, f);
	}
	fputs(last ? "\r\n" : ",", f);
}

static char *fmt(const char *format, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *format, ...)
{
	static char ring[16][512];
	static int next;
	char *buf = ring[next++ % 16];
	va_list ap;

	va_start(ap, format);
	vsnprintf(buf, sizeof(ring[0]), format, ap);
	va_end(ap);
	return buf;
}

/* ---------------------------------------------------------------- people */

typedef struct {
	const char *latin, *local;
} name_t;

static const name_t th_given[] = {
	{ "SOMCHAI", "สมชาย" },   { "SOMSAK", "สมศักดิ์" },     { "PRASERT", "ประเสริฐ" },
	{ "WICHAI", "วิชัย" },     { "ANAN", "อนันต์" },          { "SURIYA", "สุริยา" },
	{ "KITTISAK", "กิตติศักดิ์" }, { "NATTAPONG", "ณัฐพงศ์" }, { "SIRIPORN", "ศิริพร" },
	{ "MALEE", "มาลี" },       { "PRANEE", "ปราณี" },         { "WANIDA", "วนิดา" },
	{ "CHAIWAT", "ชัยวัฒน์" },  { "BOONMEE", "บุญมี" },        { "THANAWAT", "ธนวัฒน์" },
	{ "JINTANA", "จินตนา" },
};
static const name_t th_family[] = {
	{ "JAIDEE", "ใจดี" },       { "SRISUK", "ศรีสุข" },       { "WONGSAWAT", "วงศ์สวัสดิ์" },
	{ "KAEWMANEE", "แก้วมณี" }, { "THONGDEE", "ทองดี" },     { "PHROMMA", "พรหมมา" },
	{ "INTHAWONG", "อินทวงศ์" }, { "SUWANNARAT", "สุวรรณรัตน์" }, { "YODKHAM", "ยอดคำ" },
	{ "KANTHAWONG", "กันทะวงศ์" }, { "SAELEE", "แซ่ลี้" },      { "CHAIYASIT", "ชัยสิทธิ์" },
};
static const name_t mm_names[] = {
	{ "AUNG KYAW", "အောင်ကျော်" },   { "KYAW ZIN", "ကျော်ဇင်" },     { "ZAW MIN", "ဇော်မင်း" },
	{ "MIN HTET", "မင်းထက်" },       { "HTET AUNG", "ထက်အောင်" },   { "THEIN WIN", "သိန်းဝင်း" },
	{ "NAY LIN", "နေလင်း" },         { "SOE MOE", "စိုးမိုး" },       { "MYO MIN", "မျိုးမင်း" },
	{ "KHIN MAR WIN", "ခင်မာဝင်း" }, { "NWE NWE AYE", "နွယ်နွယ်အေး" }, { "KO KO NAING", "ကိုကိုနိုင်" },
	{ "TUN TUN OO", "ထွန်းထွန်းဦး" }, { "WIN NAING", "ဝင်းနိုင်" },   { "AYE AYE THANT", "အေးအေးသန့်" },
	{ "SAI AUNG NAING", "စိုင်းအောင်နိုင်" },
};
static const name_t la_given[] = {
	{ "SOMPHONE", "ສົມພອນ" }, { "KHAMLA", "ຄຳລາ" },      { "BOUNMY", "ບຸນມີ" },
	{ "SOUKSAVANH", "ສຸກສະຫວັນ" }, { "PHONSAVANH", "ພອນສະຫວັນ" }, { "VILAY", "ວິໄລ" },
	{ "NOY", "ນ້ອຍ" },        { "KEO", "ແກ້ວ" },          { "THONGCHANH", "ທອງຈັນ" },
	{ "VANXAY", "ວັນໄຊ" },
};
static const name_t la_family[] = {
	{ "CHANTHAVONG", "ຈັນທະວົງ" }, { "VONGSAVANH", "ວົງສະຫວັນ" }, { "PHOMMACHANH", "ພົມມະຈັນ" },
	{ "SISOUPHANH", "ສີສຸພັນ" },   { "INTHAVONG", "ອິນທະວົງ" },   { "KEOMANY", "ແກ້ວມະນີ" },
	{ "XAYAVONG", "ໄຊຍະວົງ" },
};
static const name_t cn_names[] = {
	{ "LI MING", "李明" },   { "WANG WEI", "王伟" }, { "ZHANG QIANG", "张强" }, { "LIU YANG", "刘洋" },
	{ "CHEN JIE", "陈杰" },  { "YANG YONG", "杨勇" }, { "ZHAO LEI", "赵磊" },  { "ZHOU HAI", "周海" },
};
static const name_t vn_names[] = {
	{ "NGUYEN VAN HUNG", "Nguyễn Văn Hùng" }, { "TRAN THI LAN", "Trần Thị Lan" },
	{ "LE VAN NAM", "Lê Văn Nam" },
};

typedef struct {
	char latin[96], local[192];
	const char *cc2, *cc3; /* nationality */
	char doc_type[16], doc_no[24];
	char birth[11];
	char sex[2];
} person_t;

static void thai_id(char out[14])
{
	int sum = 0;

	out[0] = (char)('1' + rnd(0, 4)); /* 1-5: citizens by birth or registration */
	for (int i = 1; i < 12; i++)
		out[i] = (char)('0' + rnd(0, 9));
	for (int i = 0; i < 12; i++)
		sum += (out[i] - '0') * (13 - i);
	out[12] = (char)('0' + (11 - sum % 11) % 10);
	out[13] = '\0';
}

/* A person of nationality cc2 ("TH", "MM", "LA", "CN", "VN"), born in
 * [y0, y1]. */
static void make_person(person_t *p, const char *cc2, int y0, int y1)
{
	const name_t *g, *fam;

	memset(p, 0, sizeof(*p));
	p->cc2 = cc2;
	if (strcmp(cc2, "TH") == 0) {
		g = &PICK(th_given);
		fam = &PICK(th_family);
		snprintf(p->latin, sizeof(p->latin), "%s %s", g->latin, fam->latin);
		snprintf(p->local, sizeof(p->local), "%s %s", g->local, fam->local);
		p->cc3 = "THA";
	} else if (strcmp(cc2, "MM") == 0) {
		g = &PICK(mm_names);
		snprintf(p->latin, sizeof(p->latin), "%s", g->latin);
		snprintf(p->local, sizeof(p->local), "%s", g->local);
		p->cc3 = "MMR";
	} else if (strcmp(cc2, "LA") == 0) {
		g = &PICK(la_given);
		fam = &PICK(la_family);
		snprintf(p->latin, sizeof(p->latin), "%s %s", g->latin, fam->latin);
		snprintf(p->local, sizeof(p->local), "%s %s", g->local, fam->local);
		p->cc3 = "LAO";
	} else if (strcmp(cc2, "CN") == 0) {
		g = &PICK(cn_names);
		snprintf(p->latin, sizeof(p->latin), "%s", g->latin);
		snprintf(p->local, sizeof(p->local), "%s", g->local);
		p->cc3 = "CHN";
	} else {
		g = &PICK(vn_names);
		snprintf(p->latin, sizeof(p->latin), "%s", g->latin);
		snprintf(p->local, sizeof(p->local), "%s", g->local);
		p->cc3 = "VNM";
	}
	/* The female names of the lists above. */
	{
		static const char *const female[] = { "SIRIPORN", "MALEE", "PRANEE", "WANIDA",
						      "JINTANA", "KHIN MAR WIN", "NWE NWE AYE",
						      "AYE AYE THANT", "NOY ", "TRAN THI LAN" };

		p->sex[0] = 'M';
		for (size_t i = 0; i < N(female); i++)
			if (strncmp(p->latin, female[i], strlen(female[i])) == 0)
				p->sex[0] = 'F';
	}
	{
		long year = rnd(y0, y1), month = rnd(1, 12), day = rnd(1, 28);

		snprintf(p->birth, sizeof(p->birth), "%04ld-%02ld-%02ld", year, month, day);
	}
	if (strcmp(cc2, "TH") == 0 && chance(60)) {
		snprintf(p->doc_type, sizeof(p->doc_type), "ID_CARD");
		thai_id(p->doc_no);
	} else if (strcmp(cc2, "TH") == 0) {
		char series = (char)('A' + rnd(0, 9));

		snprintf(p->doc_type, sizeof(p->doc_type), "PASSPORT");
		snprintf(p->doc_no, sizeof(p->doc_no), "A%c%07ld", series, rnd(0, 9999999));
	} else if (strcmp(cc2, "MM") == 0 && chance(50)) {
		snprintf(p->doc_type, sizeof(p->doc_type), "BORDER_PASS");
		snprintf(p->doc_no, sizeof(p->doc_no), "TCL-%06ld", rnd(0, 999999));
	} else if (strcmp(cc2, "MM") == 0) {
		char series = (char)('A' + rnd(0, 7));

		snprintf(p->doc_type, sizeof(p->doc_type), "PASSPORT");
		snprintf(p->doc_no, sizeof(p->doc_no), "M%c%06ld", series, rnd(0, 999999));
	} else if (strcmp(cc2, "LA") == 0) {
		snprintf(p->doc_type, sizeof(p->doc_type), "PASSPORT");
		snprintf(p->doc_no, sizeof(p->doc_no), "P%07ld", rnd(0, 9999999));
	} else if (strcmp(cc2, "CN") == 0) {
		snprintf(p->doc_type, sizeof(p->doc_type), "PASSPORT");
		snprintf(p->doc_no, sizeof(p->doc_no), "E%08ld", rnd(0, 99999999));
	} else {
		snprintf(p->doc_type, sizeof(p->doc_type), "PASSPORT");
		snprintf(p->doc_no, sizeof(p->doc_no), "C%07ld", rnd(0, 9999999));
	}
}

static const char *nationality_mix(void)
{
	static const char *const mix[] = { "TH", "TH", "TH", "TH", "MM", "MM", "MM",
					   "LA", "LA", "CN", "VN" };
	return PICK(mix);
}

/* ---------------------------------------------------------------- places */

typedef struct {
	const char *customs_office, *checkpoint, *site_word;
	const char *across_cc, *across_place;
	int river; /* a Mekong river port: boats */
} crossing_t;

static const crossing_t crossings[] = {
	{ "2301", "MSI", "Mae Sai", "MM", "Tachileik", 0 },
	{ "2302", "CSI", "Chiang Saen", "LA", "Ton Pheung", 1 },
	{ "2303", "CKI", "Chiang Khong", "LA", "Houay Xai", 1 },
};

static const crossing_t *pick_crossing(void)
{
	long r = rnd(1, 100);

	return &crossings[r <= 50 ? 0 : r <= 75 ? 1 : 2];
}

static const char *const thai_letters[] = { "กข", "กท", "บต", "ขค", "นข", "ผก", "ฮก", "วท", "ศจ", "1กข", "2ขท", "3กฎ" };
static const char *const thai_provinces[] = { "เชียงราย", "เชียงราย", "เชียงราย", "เชียงใหม่",
					      "พะเยา", "กรุงเทพมหานคร", "ลำปาง" };

static const char *thai_plate(void)
{
	/* One draw per statement: the order of arguments is the compiler's. */
	const char *letters = PICK(thai_letters);
	long number = rnd(1, 9999);

	return fmt("%s %04ld %s", letters, number, PICK(thai_provinces));
}

static const char *truck_plate(void)
{
	long kind = rnd(70, 72), number = rnd(1, 9999);

	return fmt("%02ld-%04ld %s", kind, number, PICK(thai_provinces));
}

/* ISO 6346 container number with its check digit. */
static const char *container_no(void)
{
	static const char *const owners[] = { "MSKU", "CSQU", "TGHU", "OOLU", "SITU", "KMTU",
					      "TCNU", "EGHU" };
	char v[12];
	long sum = 0;

	memcpy(v, PICK(owners), 4);
	for (int i = 4; i < 10; i++)
		v[i] = (char)('0' + rnd(0, 9));
	for (int i = 0; i < 10; i++) {
		long val = v[i] - '0';

		if (v[i] >= 'A') {
			val = 10;
			for (char ch = 'A'; ch < v[i]; ch++) {
				val++;
				if (val % 11 == 0)
					val++;
			}
		}
		sum += val << i;
	}
	v[10] = (char)('0' + (sum % 11) % 10);
	v[11] = '\0';
	return fmt("%s", v);
}

/* ---------------------------------------------------------------- time */

static const int month_days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

/* Day n (0..364) of 2025 as month and day. */
static void day_of_2025(int n, int *month, int *day)
{
	int m = 0;

	while (n >= month_days[m]) {
		n -= month_days[m];
		m++;
	}
	*month = m + 1;
	*day = n + 1;
}

/* ---------------------------------------------------------------- customs */

typedef struct {
	const char *hs, *unit, *desc, *species, *concealment, *marking;
	double lo, hi, round;
	const char *offence, *direction; /* NULL direction: IMPORT */
	int commercial;                  /* declared cargo: declaration, container */
} goods_t;

static const goods_t customs_goods[] = {
	{ "2939.71", "U2", "methamphetamine tablets (yaba), WY logo, packs of 200", NULL,
	  "false floor of the cargo bed", "WY", 2000, 3000000, 1000, "PROHIBITED", NULL, 0 },
	{ "2939.71", "U2", "methamphetamine tablets (yaba), 999 logo", NULL,
	  "spare wheel", "999", 2000, 800000, 1000, "PROHIBITED", NULL, 0 },
	{ "2939.71", "U2", "methamphetamine tablets in a backpack", NULL,
	  "carried across the river on foot", "WY", 400, 60000, 200, "PROHIBITED", NULL, 0 },
	{ "2939.71", "KGM", "crystal methamphetamine in Chinese tea packs (Guanyinwang)", NULL,
	  "sacks of dried longan", "Guanyinwang", 0.5, 600, 0.5, "PROHIBITED", NULL, 0 },
	{ "2939.11", "KGM", "heroin No. 4, 350 g blocks", NULL, "door panels",
	  "999", 0.35, 30, 0.35, "PROHIBITED", NULL, 0 },
	{ "2922.39", "KGM", "ketamine powder in vacuum bags", NULL, "boxes of tinned fruit",
	  NULL, 1, 500, 1, "PROHIBITED", NULL, 0 },
	{ "2915.24", "LTR", "acetic anhydride declared as industrial solvent", NULL, NULL, NULL,
	  200, 24000, 200, "MISDECLARATION", "EXPORT", 1 },
	{ "2915.90", "LTR", "propionyl chloride in 200 L drums", NULL, NULL, NULL, 200, 16000,
	  200, "PROHIBITED", "EXPORT", 1 },
	{ "2926.90", "LTR", "benzyl cyanide in 200 L drums declared as paint thinner", NULL, NULL,
	  NULL, 200, 20000, 200, "MISDECLARATION", "EXPORT", 1 },
	{ "2837.11", "KGM", "sodium cyanide, 50 kg bags", NULL, NULL, NULL, 500, 60000, 50,
	  "PROHIBITED", "EXPORT", 1 },
	{ "2939.42", "KGM", "pseudoephedrine in cold medicine tablets, bulk", NULL,
	  "cartons of vitamin supplements", NULL, 1, 300, 1, "PROHIBITED", "EXPORT", 1 },
	{ "0507.90", "KGM", "pangolin scales in sacks", "Manis javanica",
	  "sacks declared as dried fish maw", NULL, 5, 900, 1, "CITES", "EXPORT", 1 },
	{ "0507.90", "KGM", "pangolin scales from Nigeria", "Phataginus tricuspis",
	  "under frozen fish cartons", NULL, 20, 1200, 5, "CITES", "EXPORT", 1 },
	{ "0507.10", "KGM", "raw elephant ivory tusks", "Loxodonta africana",
	  "timber crates", NULL, 2, 350, 1, "CITES", "EXPORT", 1 },
	{ "0106.20", "HEA", "live Asian giant tortoises", "Manouria emys", "plastic baskets", NULL,
	  5, 400, 1, "CITES", "EXPORT", 0 },
	{ "0106.11", "HEA", "live Bengal slow lorises", "Nycticebus bengalensis", "ventilated boxes",
	  NULL, 1, 30, 1, "CITES", "EXPORT", 0 },
	{ "4403.49", "MTQ", "Siamese rosewood logs", NULL, "under a load of eucalyptus poles",
	  NULL, 0.5, 60, 0.5, "CITES", "EXPORT", 1 },
	{ "4407.29", "H87", "sawn Siamese rosewood planks", NULL, "false bottom of a river boat",
	  NULL, 5, 400, 1, "CITES", "EXPORT", 0 },
	{ "4202.21", "H87", "handbags bearing counterfeit luxury trademarks", NULL, NULL, NULL,
	  100, 30000, 10, "IPR", NULL, 1 },
	{ "6109.10", "H87", "T-shirts with counterfeit sports brand logos", NULL, NULL, NULL, 300,
	  80000, 50, "IPR", NULL, 1 },
	{ "2402.20", "PK", "counterfeit-brand cigarettes", NULL, NULL, NULL, 100, 20000, 10,
	  "IPR", NULL, 1 },
	{ "2402.20", "PK", "untaxed cigarettes without Thai excise stamps", NULL,
	  "sacks of onions", NULL, 200, 60000, 10, "SMUGGLING", NULL, 0 },
	{ "9302.00", "H87", "semi-automatic pistols", NULL, "engine compartment", NULL, 1, 12, 1,
	  "PROHIBITED", NULL, 0 },
	{ "9306.30", "H87", "9 mm cartridges", NULL, "rice sacks", NULL, 50, 6000, 10,
	  "PROHIBITED", NULL, 0 },
	{ "4907.00", "USD", "undeclared US dollar banknotes", NULL, "luggage lining", NULL, 12000,
	  900000, 100, "CURRENCY", "EXPORT", 0 },
	{ "0810.90", "KGM", "fresh longan without phytosanitary certificate", NULL, NULL, NULL,
	  500, 20000, 100, "SMUGGLING", NULL, 1 },
};

static const char *const detections[] = { "XRAY", "K9", "PHYSICAL", "RISK_PROFILE",
					  "INTELLIGENCE", "TIP_OFF" };
static const char *const road_types[] = { "pickup truck", "ten-wheel cargo truck",
					  "passenger car", "motorcycle", "van",
					  "six-wheel truck" };
static const char *const river_types[] = { "cargo boat", "long-tail speedboat",
					   "passenger ferry" };
static const char *const declarants[] = {
	"Mae Sai Trading Co., Ltd.", "Golden Land Import-Export Co., Ltd.",
	"Chiang Khong Logistics Co., Ltd.", "Mekong River Transport Co., Ltd.",
	"Siam Chemical Supply Co., Ltd.", "Lanna Fresh Fruit Co., Ltd.",
	"Northern Star Shipping Co., Ltd."
};
static const char *const th_inland[] = { "Bangkok", "Chiang Mai", "Chiang Rai", "Phayao",
					 "Nakhon Sawan", "Songkhla" };
static const char *const mm_places[] = { "Tachileik", "Kengtung", "Mong La", "Monghsat",
					 "Lashio" };
static const char *const la_places[] = { "Ton Pheung", "Houay Xai", "Luang Namtha", "Boten",
					 "Golden Triangle SEZ" };

static void gen_customs(FILE *f, int n)
{
	int seq[3] = { 0, 0, 0 };

	for (int i = 0; i < n; i++) {
		const crossing_t *x = pick_crossing();
		const goods_t *g = &customs_goods[rnd(0, (long)N(customs_goods) - 1)];
		const char *direction = g->direction != NULL ? g->direction : "IMPORT";
		int month, day, first = 1, oi = (int)(x - crossings);
		long hour = rnd(0, 23), minute = rnd(0, 59);
		double qty = spread(g->lo, g->hi, g->round);
		int persons;

		/* Some seizures are made inland, at the checkpoints on Highway 1. */
		if (chance(10))
			direction = "INLAND";
		day_of_2025(i * 365 / n + (int)rnd(0, 364 / n > 0 ? 364 / n - 1 : 0), &month, &day);
		seq[oi]++;
		fputc('{', f);
		jkv(f, &first, "seizure_ref", fmt("SZ-%s-68-%05d", x->customs_office, seq[oi] * 7 + oi));
		jkv(f, &first, "office_code", x->customs_office);
		jkv(f, &first, "seized_at",
		    fmt("2025-%02d-%02dT%02ld:%02ld:00+07:00", month, day, hour, minute));
		jkv(f, &first, "offence", g->offence);
		jkv(f, &first, "direction", direction);
		jkv(f, &first, "detection", PICK(detections));
		if (g->commercial) {
			int dfirst = 1;

			jkey(f, &first, "declaration");
			fputc('{', f);
			jkv(f, &dfirst, "number",
			    fmt("%c%s68%02d%05ld", strcmp(direction, "EXPORT") == 0 ? 'B' : 'A',
				x->customs_office, month, rnd(1, 99999)));
			jkv(f, &dfirst, "type", strcmp(direction, "EXPORT") == 0 ? "EXPORT" : "IMPORT");
			jkv(f, &dfirst, "declarant", PICK(declarants));
			jkv(f, &dfirst, "declarant_tax_id", fmt("0575%09ld", rnd(0, 999999999)));
			fputc('}', f);
		}
		jkey(f, &first, "goods");
		fputs("[{", f);
		{
			int gfirst = 1;

			jkv(f, &gfirst, "hs_code", g->hs);
			jkv(f, &gfirst, "description", g->desc);
			jkn(f, &gfirst, "quantity", qty);
			jkv(f, &gfirst, "unit", g->unit);
			if (g->species != NULL)
				jkv(f, &gfirst, "species", g->species);
			if (g->concealment != NULL)
				jkv(f, &gfirst, "concealment", g->concealment);
			if (g->marking != NULL)
				jkv(f, &gfirst, "marking", g->marking);
		}
		fputc('}', f);
		/* Yaba often travels with some crystal or heroin. */
		if (strcmp(g->hs, "2939.71") == 0 && strcmp(g->unit, "U2") == 0 && chance(25)) {
			int gfirst = 1;

			fputs(",{", f);
			jkv(f, &gfirst, "hs_code", "2939.71");
			jkv(f, &gfirst, "description", "crystal methamphetamine (ice) in tea packs");
			jkn(f, &gfirst, "quantity", spread(1, 40, 1));
			jkv(f, &gfirst, "unit", "KGM");
			if (g->concealment != NULL)
				jkv(f, &gfirst, "concealment", g->concealment);
			fputc('}', f);
		}
		fputc(']', f);
		if (strcmp(g->unit, "USD") != 0 && chance(90)) {
			int cfirst = 1;
			int river = x->river && chance(60);

			jkey(f, &first, "conveyance");
			fputc('{', f);
			jkv(f, &cfirst, "mode", river ? "RIVER" : "ROAD");
			if (river) {
				int lao = chance(50);

				jkv(f, &cfirst, "type", PICK(river_types));
				jkv(f, &cfirst, "registration",
				    lao ? fmt("BK-%03ld", rnd(1, 999))
					: fmt("CR-%s-%04ld", oi == 1 ? "CS" : "CK", rnd(1, 2000)));
				jkv(f, &cfirst, "country", lao ? "LA" : "TH");
			} else {
				const char *type = g->commercial ? "ten-wheel cargo truck" : PICK(road_types);

				jkv(f, &cfirst, "type", type);
				if (strcmp(x->across_cc, "MM") == 0 && chance(30)) {
					long series = rnd(1, 9), number = rnd(1, 9999);

					jkv(f, &cfirst, "registration",
					    fmt("SHN-%ldB/%04ld", series, number));
					jkv(f, &cfirst, "country", "MM");
				} else {
					jkv(f, &cfirst, "registration",
					    strstr(type, "truck") ? truck_plate() : thai_plate());
					jkv(f, &cfirst, "country", "TH");
				}
			}
			fputc('}', f);
			if (g->commercial && !river && chance(70)) {
				jkey(f, &first, "containers");
				fprintf(f, "[\"%s\"", container_no());
				if (chance(30))
					fprintf(f, ",\"%s\"", container_no());
				fputc(']', f);
			}
		}
		{
			int rfirst = 1;
			const char *across = strcmp(x->across_cc, "MM") == 0 ? PICK(mm_places)
									    : PICK(la_places);

			jkey(f, &first, "route");
			fputc('{', f);
			if (strcmp(direction, "EXPORT") == 0) {
				jkv(f, &rfirst, "from_country", "TH");
				jkv(f, &rfirst, "from_place", PICK(th_inland));
				jkv(f, &rfirst, "to_country", x->across_cc);
				jkv(f, &rfirst, "to_place", across);
			} else {
				jkv(f, &rfirst, "from_country", x->across_cc);
				jkv(f, &rfirst, "from_place", across);
				jkv(f, &rfirst, "to_country", "TH");
				jkv(f, &rfirst, "to_place", PICK(th_inland));
			}
			jkey(f, &rfirst, "via");
			fprintf(f, "[\"%s\"]", x->site_word);
			fputc('}', f);
		}
		persons = g->commercial ? (int)rnd(0, 2) : (int)rnd(1, 3);
		if (persons > 0) {
			jkey(f, &first, "persons");
			fputc('[', f);
			for (int k = 0; k < persons; k++) {
				static const char *const roles[] = { "DRIVER", "PASSENGER", "CARRIER",
								     "CONSIGNEE", "OWNER" };
				person_t p;
				int pfirst = 1;
				const char *cc = k == 0 && chance(60) ? "TH" : nationality_mix();

				make_person(&p, cc, 1960, 2004);
				fputs(k > 0 ? ",{" : "{", f);
				jkv(f, &pfirst, "name", p.latin);
				jkv(f, &pfirst, "name_local", p.local);
				jkv(f, &pfirst, "role", k == 0 ? (g->commercial ? "CONSIGNEE" : "DRIVER")
							      : PICK(roles));
				jkv(f, &pfirst, "status", chance(80) ? "ARRESTED" : "ABSCONDED");
				jkv(f, &pfirst, "nationality", p.cc2);
				jkv(f, &pfirst, "birth_date", p.birth);
				jkv(f, &pfirst, "document_type", p.doc_type);
				jkv(f, &pfirst, "document_no", p.doc_no);
				fputc('}', f);
			}
			fputc(']', f);
		}
		if (chance(60)) {
			int vfirst = 1;

			jkey(f, &first, "customs_value");
			fputc('{', f);
			jkn(f, &vfirst, "amount", (double)(rnd(5, 50000) * 1000));
			jkv(f, &vfirst, "currency", "THB");
			fputc('}', f);
		}
		if (chance(35)) {
			static const char *const remarks[] = {
				"Driver stated the load was agricultural produce for the market in Mae Sai.",
				"Profiled by the risk management unit: consignee new, route unusual.",
				"Seized jointly with the Pha Muang Task Force.",
				"Crossed at night; the boat turned back when hailed.",
				"The declarant could not produce import permits.",
				"K9 unit indicated on the cargo; X-ray showed dense packages.",
				"ผู้ขับขี่ให้การว่ารับจ้างขนส่งจากท่าขี้เหล็ก",
			};

			jkv(f, &first, "remarks", PICK(remarks));
		}
		fputs("}\n", f);
	}
}

/* ---------------------------------------------------------------- immigration */

static void gen_immigration(FILE *f, int n)
{
	static const char *const header[] = {
		"hit_ref",     "checkpoint", "time",        "hit_type",   "watchlist_ref",
		"watchlist_reason", "direction", "document_type", "document_no", "document_country",
		"nationality", "name",       "name_local",  "sex",        "birth_date",
		"group_size",  "minors",     "vehicle_plate", "travel_from", "travel_to",
		"officer",     "notes"
	};
	static const char *const reasons[] = { "DRUGS", "DRUGS", "DRUGS", "TRAFFICKING",
					       "SMUGGLING", "WILDLIFE", "WANTED", "WEAPONS" };
	static const char *const forged_notes[] = {
		"Photo page substituted; laminate lifted at the edge.",
		"UV check failed: no fluorescent fibres, printing by inkjet.",
		"Visa counterfeit; foil stamp wrong, serial used before.",
		"Border pass altered: issue date and name changed.",
		"Data page reprinted; MRZ check digit wrong.",
	};
	static const char *const impostor_notes[] = {
		"Genuine passport of a relative; face does not match the photo.",
		"Look-alike: height and ear shape differ from the holder's photo.",
		"Could not give the holder's birth date or address.",
	};
	static const char *const tip_notes[] = {
		"Young women travelling with one male escort who holds all their passports.",
		"Group says they go to work in a karaoke bar in Bangkok; no one knows the employer.",
		"Teenagers with new passports issued the same day; escort paid their fees.",
		"Recruited online for casino work in the Golden Triangle SEZ; contracts in Chinese only.",
		"Escort answered for the group; two appeared under 18.\nReferred to the anti-trafficking unit.",
		"ผู้เสียหายแจ้งว่าถูกหลอกไปทำงาน ไม่ได้รับค่าจ้าง",
	};
	static const char *const group_notes[] = {
		"Group crossed the river by boat at night and was stopped on the bank road.",
		"Van stopped at the checkpoint; no one had travel documents.",
		"Guide fled into the rice fields; group waiting for transport to Bangkok.",
		"Migrants paid 15,000 baht each to a broker in Tachileik.",
	};
	static const char *const watch_notes[] = {
		"Name and birth date match the watch list; fingerprints taken, subject held.",
		"Subject calm, claims to be a trader in dried fruit.",
		"Interpol notice confirmed by the NCB Bangkok desk.",
		"Match on document number; subject travelling with a second passport.",
		"",
	};
	int seq[3] = { 0, 0, 0 };

	for (size_t k = 0; k < N(header); k++)
		csv_field(f, header[k], k + 1 == N(header));
	for (int i = 0; i < n; i++) {
		const crossing_t *x = pick_crossing();
		int oi = (int)(x - crossings), month, day;
		long r = rnd(1, 100);
		const char *hit = r <= 35 ? "WATCHLIST_MATCH" : r <= 55 ? "FORGED_DOCUMENT"
				  : r <= 65 ? "IMPOSTOR" : r <= 85 ? "TIP_INDICATORS" : "SMUGGLED_GROUP";
		int departing = chance(50);
		const char *cc = x->across_cc;
		person_t p;
		long group = 1, minors = 0;
		const char *notes = "", *reason = "", *wref = "";
		const char *doc_type, *doc_no;
		const char *plate = "";

		day_of_2025(i * 365 / n, &month, &day);
		seq[oi]++;
		if (chance(40))
			cc = nationality_mix();
		if (strcmp(hit, "TIP_INDICATORS") == 0) {
			make_person(&p, cc, 1995, 2009);
			group = rnd(1, 25);
			minors = chance(35) ? rnd(1, group < 5 ? group : 5) : 0;
			notes = PICK(tip_notes);
		} else if (strcmp(hit, "SMUGGLED_GROUP") == 0) {
			make_person(&p, strcmp(cc, "TH") == 0 ? "MM" : cc, 1975, 2005);
			group = rnd(3, 60);
			notes = PICK(group_notes);
			departing = 0;
		} else {
			make_person(&p, cc, 1960, 2004);
			if (strcmp(hit, "WATCHLIST_MATCH") == 0) {
				reason = PICK(reasons);
				if (chance(30)) {
					long number = rnd(1, 9999), year = rnd(2019, 2024);

					wref = fmt("INTERPOL-R-%04ld/%ld", number, year);
				} else {
					wref = fmt("TH-IB-WL-%06ld", rnd(1, 999999));
				}
				notes = PICK(watch_notes);
			} else if (strcmp(hit, "FORGED_DOCUMENT") == 0) {
				notes = PICK(forged_notes);
			} else {
				notes = PICK(impostor_notes);
			}
		}
		doc_type = p.doc_type;
		doc_no = p.doc_no;
		if (strcmp(hit, "SMUGGLED_GROUP") == 0 && chance(70)) {
			doc_type = "NONE";
			doc_no = "";
		}
		if ((strcmp(hit, "SMUGGLED_GROUP") == 0 || group > 5) && chance(60))
			plate = thai_plate();
		csv_field(f, fmt("%s-2025%02d%02d-%04d", x->checkpoint, month, day, seq[oi]), 0);
		csv_field(f, x->checkpoint, 0);
		{
			long hour = rnd(6, 21), minute = rnd(0, 59), second = rnd(0, 59);

			csv_field(f, fmt("2025-%02d-%02d %02ld:%02ld:%02ld", month, day, hour, minute,
					 second), 0);
		}
		csv_field(f, hit, 0);
		csv_field(f, wref, 0);
		csv_field(f, reason, 0);
		csv_field(f, departing ? "DEPARTURE" : "ARRIVAL", 0);
		csv_field(f, doc_type, 0);
		csv_field(f, doc_no, 0);
		csv_field(f, strcmp(doc_type, "NONE") == 0 ? "" : p.cc3, 0);
		csv_field(f, chance(85) ? p.cc3 : p.cc2, 0);
		csv_field(f, p.latin, 0);
		csv_field(f, p.local, 0);
		csv_field(f, p.sex, 0);
		csv_field(f, p.birth, 0);
		csv_field(f, fmt("%ld", group), 0);
		csv_field(f, minors > 0 ? fmt("%ld", minors) : "", 0);
		csv_field(f, plate, 0);
		csv_field(f, departing ? x->site_word : x->across_place, 0);
		csv_field(f, departing ? x->across_place : PICK(th_inland), 0);
		csv_field(f, fmt("IB-5%04ld", rnd(1, 9999)), 0);
		csv_field(f, notes, 1);
	}
}

/* ---------------------------------------------------------------- narcotics */

typedef struct {
	const char *code, *unit, *packaging, *marking;
	double lo, hi, round;
} drug_t;

static const drug_t drugs[] = {
	{ "YABA", "tablets", "packs of 200 tablets in green plastic", "WY", 2000, 8000000, 1000 },
	{ "YABA", "tablets", "packs of 200 tablets", "999", 1000, 2000000, 1000 },
	{ "YABA", "tablets", "loose in a bag", "R", 50, 20000, 10 },
	{ "ICE", "kg", "Chinese tea packs, 1 kg each", "Guanyinwang", 1, 1200, 1 },
	{ "ICE", "g", "small zip bags", NULL, 5, 900, 5 },
	{ "HEROIN", "kg", "350 g blocks", "999", 0.35, 40, 0.35 },
	{ "KETAMINE", "kg", "vacuum-sealed bags", NULL, 1, 400, 1 },
	{ "OPIUM", "kg", "raw opium cakes", NULL, 1, 60, 0.5 },
	{ "MDMA", "tablets", "pink tablets", "Tesla", 100, 60000, 100 },
	{ "NIMETAZEPAM", "tablets", "blister packs", "Erimin 5", 500, 80000, 100 },
	{ "CANNABIS", "kg", "compressed bricks", NULL, 2, 600, 1 },
	{ "PSEUDOEPHEDRINE", "kg", "bulk powder in drums", NULL, 1, 200, 1 },
	{ "SODIUM_CYANIDE", "kg", "50 kg bags", NULL, 500, 20000, 50 },
};

typedef struct {
	const char *code, *name;
	double lat, lon;
	int crossing;
	const char *villages[4];
} district_t;

static const district_t districts[] = {
	{ "Mae Sai", "Mae Sai", 20.43, 99.88, 0,
	  { "Ban Pa Yang", "Ban Huai Khrai", "Ban Sai Lom Joy", "Highway 1 checkpoint, Km 891" } },
	{ "Mae Fa Luang", "Mae Fa Luang", 20.27, 99.66, 0,
	  { "Ban Therd Thai", "Ban Santi Khiri", "Ban Pha Mi", "Ban Huai Ma Yom" } },
	{ "Mae Chan", "Mae Chan", 20.14, 99.85, 0,
	  { "Ban Pa Sak", "Ban Mae Kham", "Highway 1 checkpoint, Mae Chan", "Ban Chan Chawa" } },
	{ "Chiang Saen", "Chiang Saen", 20.27, 100.08, 1,
	  { "Ban Sop Ruak", "Chiang Saen port", "Ban Wiang Chiang Saen", "Ban Sri Don Mun" } },
	{ "Doi Luang", "Doi Luang", 20.12, 100.08, 1,
	  { "Ban Pong Noi", "Ban Pa Hung", "Ban Doi Luang", "Ban Nong Pa Ko" } },
	{ "Chiang Khong", "Chiang Khong", 20.26, 100.40, 2,
	  { "Ban Hat Bai", "Ban Sob Som", "Chiang Khong river bank", "Ban Huai Leuk" } },
	{ "Wiang Kaen", "Wiang Kaen", 19.93, 100.48, 2,
	  { "Ban Huai Khao", "Ban Pak Ing", "Ban Mai Pattana", "Ban Tha Kham" } },
	{ "Mueang Chiang Rai", "Mueang Chiang Rai", 19.91, 99.83, 0,
	  { "Chiang Rai bus terminal 2", "Ban Du", "Ban Doi Hang", "Highway 1 Rim Kok" } },
	{ "Phan", "Phan", 19.55, 99.74, 0,
	  { "Ban Mae Suai junction", "Ban San Makhet", "Ban Pong", "Highway 1 Km 790" } },
};

static const char *const units_for[3][3] = {
	{ "MAESAI-PS", "NSB-D3", "BPP-327" },
	{ "CHIANGSAEN-PS", "NSB-D3", "CR-PROV" },
	{ "CHIANGKHONG-PS", "NSB-D3", "CR-PROV" },
};

static const char *const modus[] = {
	"Tablets hidden in the fuel tank of a pickup truck driven by hired couriers.",
	"Drugs carried across the Mekong at night by boat, handed over on the Thai bank.",
	"Backpack couriers on foot along mountain trails from Shan State.",
	"Crystal methamphetamine packed as Chinese tea, sent on by parcel service.",
	"Couriers recruited on social media for 20,000 baht per trip.",
	"Precursors moved out in drums declared as industrial chemicals.",
	"Drugs loaded onto a tour bus with tourists' luggage.",
	"Stash house near the border; drugs moved in small loads by motorcycle.",
};
static const char *const summaries[] = {
	"Acting on intelligence from the BLO Mae Sai, officers stopped the vehicle at a checkpoint.",
	"Suspects confessed to carrying the drugs for a network based in Tachileik.",
	"Search of a rented house found the drugs under the floorboards.",
	"Joint operation with Border Patrol Police and the Pha Muang Task Force.",
	"The river patrol intercepted the boat near the Golden Triangle.",
	"ผู้ต้องหารับว่าได้รับค่าจ้างขนยาเสพติดจากชายแดน",
};
static const char *const arrest_roles[] = { "COURIER", "DRIVER", "ORGANISER", "LOOKOUT",
					    "BUYER", "SELLER", "FINANCIER" };
static const char *const vehicle_types[] = { "pickup truck", "passenger car", "motorcycle",
					     "van", "long-tail boat" };

static void gen_narcotics(FILE *f, int n)
{
	for (int i = 0; i < n; i++) {
		int di = (int)rnd(0, (long)N(districts) - 1), month, day, first = 1;
		const district_t *d = &districts[di];
		const char *unit = units_for[d->crossing][rnd(0, 2)];
		long hour = rnd(0, 23), minute = rnd(0, 59);
		int n_seiz = chance(75) ? 1 : (int)rnd(2, 3), n_arr = (int)rnd(0, 5);
		long at_large = chance(30) ? rnd(1, 4) : 0;
		double lat = d->lat + (double)rnd(-250, 250) / 10000.0;
		double lon = d->lon + (double)rnd(-250, 250) / 10000.0;
		const char *across = d->crossing == 0 ? "MM" : "LA";

		day_of_2025(i * 365 / n, &month, &day);
		fputc('{', f);
		/* Running numbers rising through the year: unique per unit. */
		jkv(f, &first, "case_no", fmt("%s-%04ld/2568", unit, 37 + i * 3 + rnd(0, 2)));
		jkv(f, &first, "unit", unit);
		jkv(f, &first, "province", "Chiang Rai");
		jkv(f, &first, "district", d->name);
		jkv(f, &first, "place", d->villages[rnd(0, 3)]);
		jkn(f, &first, "latitude", lat);
		jkn(f, &first, "longitude", lon);
		jkv(f, &first, "occurred_at",
		    fmt("2025-%02d-%02dT%02ld:%02ld:00+07:00", month, day, hour, minute));
		if (chance(80)) {
			long later = hour * 60 + minute + rnd(60, 600);
			int rday = day + (int)(later / (24 * 60));
			int rmonth = month;

			if (rday > month_days[month - 1]) {
				rday -= month_days[month - 1];
				rmonth++;
			}
			if (rmonth <= 12)
				jkv(f, &first, "reported_at",
				    fmt("2025-%02d-%02dT%02ld:%02ld:00+07:00", rmonth, rday,
					(later / 60) % 24, later % 60));
		}
		jkey(f, &first, "seizures");
		fputc('[', f);
		for (int k = 0; k < n_seiz; k++) {
			/* Precursors come alone; drugs in ones, twos and threes. */
			const drug_t *g = &drugs[rnd(0, (long)N(drugs) - (n_seiz > 1 ? 3 : 1))];
			int sfirst = 1;

			fputs(k > 0 ? ",{" : "{", f);
			jkv(f, &sfirst, "drug", g->code);
			jkn(f, &sfirst, "quantity", spread(g->lo, g->hi, g->round));
			jkv(f, &sfirst, "unit", g->unit);
			jkv(f, &sfirst, "packaging", g->packaging);
			if (g->marking != NULL)
				jkv(f, &sfirst, "marking", g->marking);
			if (chance(40))
				jkv(f, &sfirst, "concealment",
				    PICK(((const char *const[]){ "fuel tank", "spare tyre",
								 "sacks of rice", "backpacks",
								 "speaker boxes" })));
			fputc('}', f);
		}
		fputc(']', f);
		if (n_arr > 0) {
			jkey(f, &first, "arrests");
			fputc('[', f);
			for (int k = 0; k < n_arr; k++) {
				person_t p;
				int pfirst = 1;
				const char *cc = chance(55) ? "TH" : chance(70) ? "MM" : chance(70) ? "LA" : "CN";

				make_person(&p, cc, 1965, 2006);
				fputs(k > 0 ? ",{" : "{", f);
				jkv(f, &pfirst, "name", p.latin);
				jkv(f, &pfirst, "name_local", p.local);
				jkv(f, &pfirst, "nationality", p.cc2);
				jkv(f, &pfirst, "birth_date", p.birth);
				if (strcmp(p.doc_type, "BORDER_PASS") == 0 || chance(85)) {
					jkv(f, &pfirst, "id_type", p.doc_type);
					jkv(f, &pfirst, "id_no", p.doc_no);
				}
				jkv(f, &pfirst, "role", k == 0 ? "COURIER" : PICK(arrest_roles));
				fputc('}', f);
			}
			fputc(']', f);
		}
		if (at_large > 0)
			jkn(f, &first, "suspects_at_large", (double)at_large);
		if (chance(65)) {
			int vfirst = 1;
			const char *type = PICK(vehicle_types);

			jkey(f, &first, "vehicles");
			fputs("[{", f);
			jkv(f, &vfirst, "type", type);
			jkv(f, &vfirst, "plate", strcmp(type, "long-tail boat") == 0
						       ? fmt("CR-%04ld", rnd(1, 3000))
						       : thai_plate());
			jkv(f, &vfirst, "country", "TH");
			fputs("}]", f);
		}
		if (chance(50)) {
			jkey(f, &first, "phones");
			long prefix = rnd(1, 9), number = rnd(0, 9999999);

			fprintf(f, "[\"+668%ld%07ld\"", prefix, number);
			if (chance(40))
				fprintf(f, ",\"%s\"", d->crossing == 0 ? fmt("+959%09ld", rnd(0, 999999999))
								       : fmt("+85620%08ld", rnd(0, 99999999)));
			fputc(']', f);
		}
		if (chance(85)) {
			int rfirst = 1;

			jkey(f, &first, "route");
			fputc('{', f);
			if (chance(85)) {
				jkv(f, &rfirst, "from_country", across);
				jkv(f, &rfirst, "from_place", across[0] == 'M' ? PICK(mm_places)
									       : PICK(la_places));
				jkv(f, &rfirst, "to_country", chance(10) ? "MY" : "TH");
				jkv(f, &rfirst, "to_place", PICK(th_inland));
			} else {
				jkv(f, &rfirst, "from_country", "TH");
				jkv(f, &rfirst, "from_place", PICK(th_inland));
				jkv(f, &rfirst, "to_country", across);
				jkv(f, &rfirst, "to_place", across[0] == 'M' ? PICK(mm_places)
									     : PICK(la_places));
			}
			fputc('}', f);
		}
		jkv(f, &first, "modus_operandi", PICK(modus));
		jkv(f, &first, "summary", PICK(summaries));
		if (chance(15))
			jkv(f, &first, "operation_name", "Safe Mekong 2025");
		fputs("}\n", f);
	}
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "agents/formats/samples";
	int n = argc > 2 ? atoi(argv[2]) : 240;
	static const struct {
		const char *file;
		void (*gen)(FILE *, int);
	} outputs[] = {
		{ "customs-th.jsonl", gen_customs },
		{ "immigration-th.csv", gen_immigration },
		{ "narcotics-th.jsonl", gen_narcotics },
	};

	if (n < 1 || n > 100000) {
		fprintf(stderr, "usage: gen_samples [DIR [N]]\n");
		return 2;
	}
	for (size_t i = 0; i < N(outputs); i++) {
		char path[4096];
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", dir, outputs[i].file);
		f = fopen(path, "w");
		if (f == NULL) {
			perror(path);
			return 1;
		}
		outputs[i].gen(f, n);
		if (fclose(f) != 0) {
			perror(path);
			return 1;
		}
		printf("%s: %d records\n", path, n);
	}
	return 0;
}
