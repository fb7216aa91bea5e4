/*
 * blo_samples: writes made-up agency exports for one BLO (customs seizure
 * records, immigration checkpoint hits, narcotics case reports, in the
 * formats of agents/formats/), driven by the crossing's rules: its codes,
 * commodity classes and counterpart. Deterministic for a seed: one splitmix64
 * stream per agency, no clock, no locale, no libm.
 */
#include "blo_samples.h"

#include "blo_adapt_rules.h"
#include "blo_adapt_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_COUNT 100000u
#define DAY_MS 86400000LL

/* ---------------------------------------------------------------- random */

typedef struct {
	uint64_t state;
} rng_t;

static uint64_t next_u64(rng_t *r)
{
	uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static long rnd(rng_t *r, long lo, long hi)
{
	return lo + (long)(next_u64(r) % (uint64_t)(hi - lo + 1));
}

static bool chance(rng_t *r, int percent)
{
	return rnd(r, 1, 100) <= percent;
}

/* Uniform in [0, 1). */
static double unit_interval(rng_t *r)
{
	return (double)(next_u64(r) >> 11) / 9007199254740992.0;
}

#define PICK(r, a) ((a)[rnd((r), 0, (long)N(a) - 1)])

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* ---------------------------------------------------------------- output */

/* A record being written: a growing buffer. */
typedef struct {
	char *s;
	size_t len, cap;
	bool oom;
	bool first; /* no comma before the next key */
} out_t;

static void out_raw(out_t *o, const char *s, size_t n)
{
	if (o->oom)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap == 0 ? 1024 : o->cap;
		char *p;

		while (o->len + n + 1 > cap)
			cap *= 2;
		p = realloc(o->s, cap);
		if (p == NULL) {
			o->oom = true;
			return;
		}
		o->s = p;
		o->cap = cap;
	}
	memcpy(o->s + o->len, s, n);
	o->len += n;
	o->s[o->len] = '\0';
}

static void out_puts(out_t *o, const char *s)
{
	out_raw(o, s, strlen(s));
}

static void out_printf(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(out_t *o, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		out_raw(o, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void json_str(out_t *o, const char *s)
{
	out_puts(o, "\"");
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\') {
			char esc[2] = { '\\', *s };

			out_raw(o, esc, 2);
		} else if (*s == '\n') {
			out_puts(o, "\\n");
		} else {
			out_raw(o, s, 1);
		}
	}
	out_puts(o, "\"");
}

static void jkey(out_t *o, const char *key)
{
	out_printf(o, "%s\"%s\":", o->first ? "" : ",", key);
	o->first = false;
}

static void jstr(out_t *o, const char *key, const char *value)
{
	jkey(o, key);
	json_str(o, value);
}

/* Numbers as people type them: integers without decimals, else up to 3. */
static void num_text(char *buf, size_t size, double v)
{
	long long whole = (long long)v;

	if ((double)whole == v) {
		snprintf(buf, size, "%lld", whole);
	} else {
		size_t n;

		snprintf(buf, size, "%.3f", v);
		n = strlen(buf);
		while (n > 0 && buf[n - 1] == '0')
			buf[--n] = '\0';
	}
}

static void jnum(out_t *o, const char *key, double value)
{
	char buf[64];

	num_text(buf, sizeof(buf), value);
	jkey(o, key);
	out_puts(o, buf);
}

static void jopen(out_t *o, const char *key, const char *bracket)
{
	if (key != NULL)
		jkey(o, key);
	out_puts(o, bracket);
	o->first = true;
}

static void jclose(out_t *o, const char *bracket)
{
	out_puts(o, bracket);
	o->first = false;
}

/* An element of an array: a comma unless first, then {. */
static void jelem(out_t *o, bool first_elem)
{
	out_puts(o, first_elem ? "{" : ",{");
	o->first = true;
}

static void csv_field(out_t *o, const char *s, bool last)
{
	if (strpbrk(s, ",\"\n\r") != NULL) {
		out_puts(o, "\"");
		for (; *s != '\0'; s++) {
			if (*s == '"')
				out_puts(o, "\"");
			out_raw(o, s, 1);
		}
		out_puts(o, "\"");
	} else {
		out_puts(o, s);
	}
	out_puts(o, last ? "\r\n" : ",");
}

/* Cuts a record as a failed export does, between two characters. */
static void truncate_record(out_t *o)
{
	size_t cut = o->len * 2 / 3;

	while (cut > 1 && ((uint8_t)o->s[cut] & 0xc0) == 0x80)
		cut--;
	o->len = cut;
	o->s[cut] = '\0';
}

/* ---------------------------------------------------------------- time */

typedef struct {
	int year, month, day, hour, minute, second;
} civil_t;

/* Howard Hinnant's civil_from_days, for UTC+offset wall time. */
static civil_t civil_of(int64_t ms, int64_t offset_minutes)
{
	int64_t s = ms / 1000 + offset_minutes * 60, days, sod, era, doe, yoe, y, doy, mp;
	civil_t c;

	days = s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
	sod = s - days * 86400;
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	c.day = (int)(doy - (153 * mp + 2) / 5 + 1);
	c.month = (int)(mp < 10 ? mp + 3 : mp - 9);
	c.year = (int)(y + (c.month <= 2));
	c.hour = (int)(sod / 3600);
	c.minute = (int)(sod / 60 % 60);
	c.second = (int)(sod % 60);
	return c;
}

/* "2025-03-14T06:42:00+07:00" */
static void iso_time(char *buf, size_t size, int64_t ms, int64_t offset)
{
	civil_t c = civil_of(ms, offset);
	int64_t a = offset < 0 ? -offset : offset;

	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", c.year, c.month, c.day,
		 c.hour, c.minute, c.second, offset < 0 ? '-' : '+', (int)(a / 60), (int)(a % 60));
}

/* ---------------------------------------------------------------- people */

typedef struct {
	const char *latin, *local;
	bool female;
} name_t;

static const name_t th_given[] = {
	{ "SOMCHAI", "สมชาย", 0 },   { "SOMSAK", "สมศักดิ์", 0 },   { "PRASERT", "ประเสริฐ", 0 },
	{ "WICHAI", "วิชัย", 0 },     { "ANAN", "อนันต์", 0 },       { "SURIYA", "สุริยา", 0 },
	{ "KITTISAK", "กิตติศักดิ์", 0 }, { "NATTAPONG", "ณัฐพงศ์", 0 }, { "SIRIPORN", "ศิริพร", 1 },
	{ "MALEE", "มาลี", 1 },       { "PRANEE", "ปราณี", 1 },      { "WANIDA", "วนิดา", 1 },
	{ "CHAIWAT", "ชัยวัฒน์", 0 },  { "JINTANA", "จินตนา", 1 },
};
static const name_t th_family[] = {
	{ "JAIDEE", "ใจดี", 0 },     { "SRISUK", "ศรีสุข", 0 },     { "WONGSAWAT", "วงศ์สวัสดิ์", 0 },
	{ "KAEWMANEE", "แก้วมณี", 0 }, { "THONGDEE", "ทองดี", 0 },   { "PHROMMA", "พรหมมา", 0 },
	{ "INTHAWONG", "อินทวงศ์", 0 }, { "SAELEE", "แซ่ลี้", 0 },    { "CHAIYASIT", "ชัยสิทธิ์", 0 },
};
static const name_t mm_names[] = {
	{ "AUNG KYAW", "အောင်ကျော်", 0 },  { "KYAW ZIN", "ကျော်ဇင်", 0 },   { "ZAW MIN", "ဇော်မင်း", 0 },
	{ "MIN HTET", "မင်းထက်", 0 },      { "THEIN WIN", "သိန်းဝင်း", 0 }, { "NAY LIN", "နေလင်း", 0 },
	{ "SOE MOE", "စိုးမိုး", 0 },        { "KHIN MAR WIN", "ခင်မာဝင်း", 1 },
	{ "NWE NWE AYE", "နွယ်နွယ်အေး", 1 }, { "TUN TUN OO", "ထွန်းထွန်းဦး", 0 },
	{ "AYE AYE THANT", "အေးအေးသန့်", 1 }, { "SAI AUNG NAING", "စိုင်းအောင်နိုင်", 0 },
};
static const name_t la_given[] = {
	{ "SOMPHONE", "ສົມພອນ", 0 },   { "KHAMLA", "ຄຳລາ", 1 },      { "BOUNMY", "ບຸນມີ", 0 },
	{ "SOUKSAVANH", "ສຸກສະຫວັນ", 0 }, { "VILAY", "ວິໄລ", 1 },        { "NOY", "ນ້ອຍ", 1 },
	{ "THONGCHANH", "ທອງຈັນ", 0 },  { "VANXAY", "ວັນໄຊ", 0 },
};
static const name_t la_family[] = {
	{ "CHANTHAVONG", "ຈັນທະວົງ", 0 }, { "VONGSAVANH", "ວົງສະຫວັນ", 0 }, { "PHOMMACHANH", "ພົມມະຈັນ", 0 },
	{ "SISOUPHANH", "ສີສຸພັນ", 0 },   { "INTHAVONG", "ອິນທະວົງ", 0 },   { "XAYAVONG", "ໄຊຍະວົງ", 0 },
};
static const name_t cn_names[] = {
	{ "LI MING", "李明", 0 },    { "WANG WEI", "王伟", 0 },   { "ZHANG QIANG", "张强", 0 },
	{ "LIU YANG", "刘洋", 0 },   { "CHEN JIE", "陈杰", 0 },   { "YANG YONG", "杨勇", 0 },
	{ "ZHAO LEI", "赵磊", 0 },   { "ZHOU HAI", "周海", 0 },   { "HUANG LI", "黄丽", 1 },
	{ "WU FANG", "吴芳", 1 },    { "DAO WENJUN", "刀文军", 0 }, { "YAN HONG", "岩洪", 0 },
};
static const name_t vn_names[] = {
	{ "NGUYEN VAN HUNG", "Nguyễn Văn Hùng", 0 }, { "TRAN THI LAN", "Trần Thị Lan", 1 },
	{ "LE VAN NAM", "Lê Văn Nam", 0 },          { "PHAM VAN DUC", "Phạm Văn Đức", 0 },
	{ "HOANG THI MAI", "Hoàng Thị Mai", 1 },    { "VU DINH THANH", "Vũ Đình Thành", 0 },
	{ "DANG VAN TUAN", "Đặng Văn Tuấn", 0 },    { "BUI THI HUONG", "Bùi Thị Hương", 1 },
	{ "DO MINH KHOA", "Đỗ Minh Khoa", 0 },      { "NGO VAN LONG", "Ngô Văn Long", 0 },
};
static const name_t kh_names[] = {
	{ "SOK CHEA", "សុខ ជា", 0 },       { "CHAN DARA", "ចាន់ ដារា", 0 },
	{ "KIM SOPHEAP", "គឹម សុភាព", 1 }, { "HENG SAMNANG", "ហេង សំណាង", 0 },
	{ "SREY MOM", "ស្រី មុំ", 1 },      { "PICH SOKHA", "ពេជ្រ សុខា", 0 },
	{ "SAM VANNA", "សំ វណ្ណា", 0 },    { "OUK SREYNICH", "អ៊ុក ស្រីនិច", 1 },
	{ "MEAS RITHY", "មាស រិទ្ធី", 0 },   { "TOUCH SOVANN", "ទូច សុវណ្ណ", 0 },
};

typedef struct {
	char latin[96], local[192];
	char cc2[3];
	const char *cc3;
	char doc_type[16], doc_no[24];
	char birth[11];
	char sex[2];
} person_t;

static const struct {
	const char *cc2, *cc3;
} nations[] = { { "TH", "THA" }, { "MM", "MMR" }, { "LA", "LAO" },
		{ "CN", "CHN" }, { "VN", "VNM" }, { "KH", "KHM" } };

static const char *alpha3_of(const char *cc2)
{
	for (size_t i = 0; i < N(nations); i++)
		if (strcmp(nations[i].cc2, cc2) == 0)
			return nations[i].cc3;
	return NULL;
}

/* A person of nationality cc2 (one of nations[]), born in [y0, y1]. */
static void make_person(rng_t *r, person_t *p, const char *cc2, int y0, int y1)
{
	const name_t *g = NULL, *fam = NULL;

	memset(p, 0, sizeof(*p));
	snprintf(p->cc2, sizeof(p->cc2), "%s", cc2);
	p->cc3 = alpha3_of(cc2);
	if (strcmp(cc2, "TH") == 0) {
		g = &PICK(r, th_given);
		fam = &PICK(r, th_family);
	} else if (strcmp(cc2, "LA") == 0) {
		g = &PICK(r, la_given);
		fam = &PICK(r, la_family);
	} else if (strcmp(cc2, "MM") == 0) {
		g = &PICK(r, mm_names);
	} else if (strcmp(cc2, "CN") == 0) {
		g = &PICK(r, cn_names);
	} else if (strcmp(cc2, "VN") == 0) {
		g = &PICK(r, vn_names);
	} else {
		g = &PICK(r, kh_names);
	}
	if (fam != NULL) {
		snprintf(p->latin, sizeof(p->latin), "%s %s", g->latin, fam->latin);
		snprintf(p->local, sizeof(p->local), "%s %s", g->local, fam->local);
	} else {
		snprintf(p->latin, sizeof(p->latin), "%s", g->latin);
		snprintf(p->local, sizeof(p->local), "%s", g->local);
	}
	p->sex[0] = g->female ? 'F' : 'M';
	{
		long year = rnd(r, y0, y1), month = rnd(r, 1, 12), day = rnd(r, 1, 28);

		snprintf(p->birth, sizeof(p->birth), "%04ld-%02ld-%02ld", year, month, day);
	}
	snprintf(p->doc_type, sizeof(p->doc_type), "PASSPORT");
	if (strcmp(cc2, "TH") == 0 && chance(r, 50)) {
		int sum = 0;

		snprintf(p->doc_type, sizeof(p->doc_type), "ID_CARD");
		p->doc_no[0] = (char)('1' + rnd(r, 0, 4));
		for (int i = 1; i < 12; i++)
			p->doc_no[i] = (char)('0' + rnd(r, 0, 9));
		for (int i = 0; i < 12; i++)
			sum += (p->doc_no[i] - '0') * (13 - i);
		p->doc_no[12] = (char)('0' + (11 - sum % 11) % 10);
	} else if (strcmp(cc2, "TH") == 0) {
		char series = (char)('A' + rnd(r, 0, 9));

		snprintf(p->doc_no, sizeof(p->doc_no), "A%c%07ld", series, rnd(r, 0, 9999999));
	} else if ((strcmp(cc2, "MM") == 0 || strcmp(cc2, "LA") == 0 ||
		    strcmp(cc2, "KH") == 0) && chance(r, 40)) {
		snprintf(p->doc_type, sizeof(p->doc_type), "BORDER_PASS");
		snprintf(p->doc_no, sizeof(p->doc_no), "%s-BP-%06ld", cc2, rnd(r, 0, 999999));
	} else if (strcmp(cc2, "MM") == 0) {
		char series = (char)('A' + rnd(r, 0, 7));

		snprintf(p->doc_no, sizeof(p->doc_no), "M%c%06ld", series, rnd(r, 0, 999999));
	} else if (strcmp(cc2, "LA") == 0) {
		snprintf(p->doc_no, sizeof(p->doc_no), "P%07ld", rnd(r, 0, 9999999));
	} else if (strcmp(cc2, "CN") == 0) {
		snprintf(p->doc_no, sizeof(p->doc_no), "E%08ld", rnd(r, 0, 99999999));
	} else if (strcmp(cc2, "VN") == 0) {
		snprintf(p->doc_no, sizeof(p->doc_no), "C%07ld", rnd(r, 0, 9999999));
	} else {
		snprintf(p->doc_no, sizeof(p->doc_no), "N%08ld", rnd(r, 0, 99999999));
	}
}

/* ---------------------------------------------------------------- places */

/* Provinces of the known BLOs; others get "Border Province". */
static const struct {
	const char *site, *province;
} provinces[] = {
	{ "TH-MAESAI", "Chiang Rai" },       { "TH-CHIANGSAEN", "Chiang Rai" },
	{ "TH-CHIANGKHONG", "Chiang Rai" },  { "TH-MAESOT", "Tak" },
	{ "TH-RANONG", "Ranong" },           { "TH-MUKDAHAN", "Mukdahan" },
	{ "TH-NAKHONPHANOM", "Nakhon Phanom" }, { "TH-NONGKHAI", "Nong Khai" },
	{ "TH-ARANYAPRATHET", "Sa Kaeo" },   { "TH-CHONGCHOM", "Surin" },
	{ "TH-HATLEK", "Trat" },             { "MM-TACHILEIK", "Shan State (East)" },
	{ "MM-MYAWADDY", "Kayin State" },    { "MM-KAWTHAUNG", "Tanintharyi Region" },
	{ "MM-KENGLAP", "Shan State (East)" }, { "MM-MUSE", "Shan State (North)" },
	{ "MM-CHINSHWEHAW", "Shan State (North)" }, { "LA-HOUAYXAI", "Bokeo" },
	{ "LA-TONPHEUNG", "Bokeo" },         { "LA-XIENGKOK", "Luang Namtha" },
	{ "LA-BOTEN", "Luang Namtha" },      { "LA-KAYSONE", "Savannakhet" },
	{ "LA-THAKHEK", "Khammouane" },      { "LA-VIENTIANE", "Vientiane Capital" },
	{ "LA-DANSAVANH", "Savannakhet" },   { "LA-NAMPHAO", "Bolikhamxay" },
	{ "LA-NONGHET", "Xiengkhouang" },    { "LA-VEUNKHAM", "Champasak" },
	{ "KH-POIPET", "Banteay Meanchey" }, { "KH-OSMACH", "Oddar Meanchey" },
	{ "KH-CHAMYEAM", "Koh Kong" },       { "KH-DOMKRALOR", "Stung Treng" },
	{ "KH-BAVET", "Svay Rieng" },        { "KH-PHNOMDEN", "Takeo" },
	{ "KH-PREKCHAK", "Kampot" },         { "KH-OYADAV", "Ratanakiri" },
	{ "CN-MOHAN", "Yunnan" },            { "CN-RUILI", "Yunnan" },
	{ "CN-QINGSHUIHE", "Yunnan" },       { "CN-HEKOU", "Yunnan" },
	{ "CN-YOUYIGUAN", "Guangxi" },       { "CN-DONGXING", "Guangxi" },
	{ "VN-LAOBAO", "Quang Tri" },        { "VN-CAUTREO", "Ha Tinh" },
	{ "VN-NAMCAN", "Nghe An" },          { "VN-MOCBAI", "Tay Ninh" },
	{ "VN-TINHBIEN", "An Giang" },       { "VN-XAXIA", "Kien Giang" },
	{ "VN-LETHANH", "Gia Lai" },         { "VN-MONGCAI", "Quang Ninh" },
	{ "VN-LAOCAI", "Lao Cai" },          { "VN-HUUNGHI", "Lang Son" },
};

/* Crossings over a river or by sea: boats. */
static const char *const water_sites[] = {
	"TH-CHIANGSAEN", "LA-TONPHEUNG", "TH-CHIANGKHONG", "LA-HOUAYXAI", "LA-XIENGKOK",
	"MM-KENGLAP",    "TH-RANONG",    "MM-KAWTHAUNG",   "TH-NAKHONPHANOM", "LA-THAKHEK",
	"TH-NONGKHAI",   "LA-VIENTIANE", "VN-MONGCAI",     "CN-DONGXING",
};

/* Inland destinations, by country. */
static const char *const inland_th[] = { "Bangkok", "Chiang Mai", "Khon Kaen", "Nakhon Sawan",
					 "Udon Thani", "Songkhla" };
static const char *const inland_la[] = { "Vientiane", "Luang Prabang", "Savannakhet", "Pakse",
					 "Oudomxay" };
static const char *const inland_mm[] = { "Yangon", "Mandalay", "Lashio", "Taunggyi",
					 "Kengtung", "Mawlamyine" };
static const char *const inland_kh[] = { "Phnom Penh", "Siem Reap", "Battambang",
					 "Sihanoukville", "Kampong Cham" };
static const char *const inland_cn[] = { "Kunming", "Jinghong", "Nanning", "Guangzhou",
					 "Pu'er", "Dali" };
static const char *const inland_vn[] = { "Hanoi", "Ho Chi Minh City", "Hai Phong", "Vinh",
					 "Da Nang", "Can Tho" };

static const char *inland(rng_t *r, const char *cc)
{
	if (strcmp(cc, "TH") == 0)
		return PICK(r, inland_th);
	if (strcmp(cc, "LA") == 0)
		return PICK(r, inland_la);
	if (strcmp(cc, "MM") == 0)
		return PICK(r, inland_mm);
	if (strcmp(cc, "KH") == 0)
		return PICK(r, inland_kh);
	if (strcmp(cc, "CN") == 0)
		return PICK(r, inland_cn);
	if (strcmp(cc, "VN") == 0)
		return PICK(r, inland_vn);
	return "the interior";
}

static const char *currency_of(const char *cc)
{
	static const char *const map[][2] = { { "TH", "THB" }, { "LA", "LAK" }, { "MM", "MMK" },
					      { "KH", "USD" }, { "CN", "CNY" }, { "VN", "VND" } };

	for (size_t i = 0; i < N(map); i++)
		if (strcmp(map[i][0], cc) == 0)
			return map[i][1];
	return "USD";
}

/* A licence plate as that country writes it. */
static void plate(rng_t *r, char *buf, size_t size, const char *cc)
{
	static const char *const th_letters[] = { "กข", "บต", "ขค", "นข", "ผก", "1กข", "3กฎ" };
	static const char *const la_letters[] = { "ກຂ", "ບກ", "ຄງ", "ນວ" };
	static const char *const cn_prefix[] = { "云A", "云K", "云N", "桂A", "桂P", "粤B" };
	long number = rnd(r, 1, 9999);

	if (strcmp(cc, "TH") == 0)
		snprintf(buf, size, "%s %04ld", PICK(r, th_letters), number);
	else if (strcmp(cc, "LA") == 0)
		snprintf(buf, size, "%s %04ld", PICK(r, la_letters), number);
	else if (strcmp(cc, "MM") == 0)
		snprintf(buf, size, "%ld%c/%04ld", rnd(r, 1, 9), (char)('A' + rnd(r, 0, 7)), number);
	else if (strcmp(cc, "KH") == 0)
		snprintf(buf, size, "%ld%c-%04ld", rnd(r, 1, 3), (char)('A' + rnd(r, 0, 7)), number);
	else if (strcmp(cc, "CN") == 0)
		snprintf(buf, size, "%s·%05ld", PICK(r, cn_prefix), rnd(r, 10000, 99999));
	else
		snprintf(buf, size, "%02ldC-%03ld.%02ld", rnd(r, 11, 99), rnd(r, 100, 999),
			 rnd(r, 0, 99));
}

/* A mobile number in E.164. */
static void phone(rng_t *r, char *buf, size_t size, const char *cc)
{
	if (strcmp(cc, "TH") == 0)
		snprintf(buf, size, "+668%ld%07ld", rnd(r, 1, 9), rnd(r, 0, 9999999));
	else if (strcmp(cc, "LA") == 0)
		snprintf(buf, size, "+85620%08ld", rnd(r, 0, 99999999));
	else if (strcmp(cc, "MM") == 0)
		snprintf(buf, size, "+959%09ld", rnd(r, 0, 999999999));
	else if (strcmp(cc, "KH") == 0)
		snprintf(buf, size, "+8551%ld%07ld", rnd(r, 0, 9), rnd(r, 0, 9999999));
	else if (strcmp(cc, "CN") == 0)
		snprintf(buf, size, "+861%ld%09ld", rnd(r, 3, 9), rnd(r, 0, 999999999));
	else
		snprintf(buf, size, "+849%ld%07ld", rnd(r, 0, 9), rnd(r, 0, 9999999));
}

/* ISO 6346 container number; wrong: the check digit off by one. */
static void container_no(rng_t *r, char v[12], bool wrong)
{
	static const char *const owners[] = { "MSKU", "CSQU", "TGHU", "OOLU", "SITU", "KMTU",
					      "TCNU", "EGHU" };

	memcpy(v, PICK(r, owners), 4);
	for (int i = 4; i < 10; i++)
		v[i] = (char)('0' + rnd(r, 0, 9));
	v[10] = (char)('0' + (blo_adapt_iso6346_check_digit(v) + (wrong ? 1 : 0)) % 10);
	v[11] = '\0';
}

/* ---------------------------------------------------------------- the BLO */

typedef struct {
	const blo_adapt_rules_t *rules;
	const blo_adapt_crossing_t *x;
	const char *site, *country, *across; /* across: the counterpart's country */
	char here[64], there[64];            /* place names from the crossing's name */
	const char *province;
	bool water;
	int64_t offset; /* utc_offset_minutes */
	char tag[48];   /* site and seed, in every reference */
	int64_t start_ms, span_ms;
	unsigned count;
	const blo_adapt_place_t *office, *checkpoint;
	const blo_adapt_place_t **units;
	size_t n_units;
	const blo_adapt_place_t **districts;
	size_t n_districts;
	const blo_adapt_class_t **customs_classes; /* classes customs can seize */
	size_t n_customs;
	struct drug {
		const char *code;
		const blo_adapt_class_t *cls;
		int unit;
	} *drugs;
	size_t n_drugs;
} site_t;

/* Times of record i of count: spread over the span, ascending. */
static int64_t record_time(const site_t *b, rng_t *r, unsigned i)
{
	int64_t slot = b->span_ms / (b->count > 0 ? b->count : 1);
	int64_t t = b->start_ms + slot * i + (slot > 1 ? (int64_t)(next_u64(r) % (uint64_t)slot) : 0);
	int64_t latest = b->start_ms + b->span_ms - 60000;

	return t > latest ? latest : t;
}

static const char *nationality(const site_t *b, rng_t *r)
{
	long k = rnd(r, 1, 100);

	if (k <= 45)
		return b->country;
	if (k <= 85)
		return b->across;
	return nations[rnd(r, 0, (long)N(nations) - 1)].cc2;
}

/* A quantity of a class's level: MINOR to EXTREME, the middle the most
 * common, rounded as a seizure report would. */
static double quantity(rng_t *r, const blo_adapt_level_t *lv)
{
	long band = rnd(r, 1, 100);
	double lo, hi, v;

	if (band <= 30) {
		lo = lv->moderate / 10;
		hi = lv->moderate;
	} else if (band <= 65) {
		lo = lv->moderate;
		hi = lv->severe;
	} else if (band <= 92) {
		lo = lv->severe;
		hi = lv->extreme;
	} else {
		lo = lv->extreme;
		hi = lv->extreme * 2;
	}
	v = lo + (hi - lo) * unit_interval(r);
	if (v >= 1000)
		v = (double)((long long)(v / 100 + 0.5) * 100);
	else if (v >= 10)
		v = (double)(long long)(v + 0.5);
	else if (v >= 1)
		v = (double)(long long)(v * 10 + 0.5) / 10;
	else
		v = (double)(long long)(v * 100 + 0.5) / 100;
	return v > 0 ? v : 0.01;
}

static const blo_adapt_level_t *pick_level(rng_t *r, const blo_adapt_class_t *cls)
{
	const blo_adapt_level_t *lv = cls->levels.v;

	return cls->levels.n == 0 ? NULL : &lv[rnd(r, 0, (long)cls->levels.n - 1)];
}

/* ---------------------------------------------------------------- customs */

enum {
	C_NONE,
	C_HS_CODE,      /* a letter in the HS code */
	C_OFFICE,       /* office code in lower case */
	C_DATE,         /* 30 February */
	C_QUANTITY,     /* quantity 0 */
	C_OFFENCE,      /* "DRUGS" is no offence code */
	C_CONTAINER,    /* wrong check digit */
	C_NO_DIRECTION, /* direction left out */
	C_UNIT,         /* "KG" for "KGM" */
	C_TRUNCATED,    /* the export cut the line */
	C_NATIONALITY,  /* alpha-3 where alpha-2 is required */
	C_DOCUMENT_NO,  /* document type without number */
	C_MODE,         /* "TRUCK" is no conveyance mode */
	C_MISTAKES
};

static const char *unece_unit(int unit)
{
	switch (unit) {
	case BLONET__UNIT__TABLET:
		return "U2";
	case BLONET__UNIT__KILOGRAM:
		return "KGM";
	case BLONET__UNIT__GRAM:
		return "GRM";
	case BLONET__UNIT__LITRE:
		return "LTR";
	case BLONET__UNIT__CUBIC_METRE:
		return "MTQ";
	case BLONET__UNIT__HEAD:
		return "HEA";
	case BLONET__UNIT__PACKAGE:
		return "PK";
	case BLONET__UNIT__US_DOLLAR:
		return "USD";
	default:
		return "H87";
	}
}

/* HS code of a class: one of its prefixes made a 6-digit code. */
static void hs_of(rng_t *r, const blo_adapt_class_t *cls, char *buf, size_t size)
{
	char digits[16] = "";
	size_t n = 0;

	if (cls->hs_codes.n > 0) {
		const char *p = cls->hs_codes.v[rnd(r, 0, (long)cls->hs_codes.n - 1)];

		for (; *p != '\0' && n < 10; p++)
			if (*p >= '0' && *p <= '9')
				digits[n++] = *p;
	} else if (cls->category == BLONET__CATEGORY__CURRENCY) {
		memcpy(digits, "490700", 6);
		n = 6;
	} else {
		static const char *const ipr[] = { "420221", "610910", "640399", "851713", "910211" };

		memcpy(digits, PICK(r, ipr), 6);
		n = 6;
	}
	for (; n < 6; n++)
		digits[n] = n == 4 ? '9' : '0';
	digits[n] = '\0';
	snprintf(buf, size, "%.4s.%s", digits, digits + 4);
}

static const struct {
	const char *class_id, *description, *concealment, *marking;
} goods_text[] = {
	{ "methamphetamine-tablets", "methamphetamine tablets (yaba), packs of 200", "false floor of the cargo bed", "WY" },
	{ "crystal-methamphetamine", "crystal methamphetamine in Chinese tea packs", "sacks of dried longan", "Guanyinwang" },
	{ "heroin", "heroin No. 4, 350 g blocks", "door panels", "999" },
	{ "opium", "raw opium cakes", "under a load of vegetables", NULL },
	{ "ketamine", "ketamine powder in vacuum bags", "boxes of tinned fruit", NULL },
	{ "mdma", "ecstasy tablets", "speaker boxes", "Tesla" },
	{ "nimetazepam", "nimetazepam (Erimin-5) tablets in blister packs", "cartons of cosmetics", "Erimin 5" },
	{ "pseudoephedrine", "pseudoephedrine in cold medicine, bulk", "cartons of vitamin supplements", NULL },
	{ "ephedrine", "ephedrine hydrochloride powder", "drums declared as food additive", NULL },
	{ "p2p", "P-2-P in drums declared as solvent", NULL, NULL },
	{ "acetic-anhydride", "acetic anhydride declared as industrial solvent", NULL, NULL },
	{ "propionyl-chloride", "propionyl chloride in 200 L drums", NULL, NULL },
	{ "benzyl-cyanide", "benzyl cyanide declared as paint thinner", NULL, NULL },
	{ "sodium-cyanide", "sodium cyanide, 50 kg bags", NULL, NULL },
	{ "potassium-permanganate", "potassium permanganate, 25 kg drums", NULL, NULL },
	{ "pangolin-scales", "pangolin scales in sacks", "sacks declared as dried fish maw", NULL },
	{ "ivory", "raw elephant ivory tusks", "timber crates", NULL },
	{ "live-wildlife", "live Asian giant tortoises", "plastic baskets", NULL },
	{ "rosewood", "Siamese rosewood logs", "under a load of eucalyptus poles", NULL },
	{ "counterfeit", "goods bearing counterfeit trademarks", NULL, NULL },
	{ "firearms", "semi-automatic pistols", "engine compartment", NULL },
	{ "ammunition", "9 mm cartridges", "rice sacks", NULL },
	{ "cash", "undeclared US dollar banknotes", "luggage lining", NULL },
	{ "cigarettes", "untaxed cigarettes without excise stamps", "sacks of onions", NULL },
};

static int category_weight(int category)
{
	switch (category) {
	case BLONET__CATEGORY__DRUGS:
		return 5;
	case BLONET__CATEGORY__PRECURSORS:
	case BLONET__CATEGORY__WILDLIFE:
		return 3;
	default:
		return 1;
	}
}

static const blo_adapt_class_t *pick_class(rng_t *r, const blo_adapt_class_t *const *classes,
					   size_t n)
{
	long total = 0, k;

	for (size_t i = 0; i < n; i++)
		total += category_weight(classes[i]->category);
	k = rnd(r, 1, total);
	for (size_t i = 0; i < n; i++) {
		k -= category_weight(classes[i]->category);
		if (k <= 0)
			return classes[i];
	}
	return classes[n - 1];
}

/* Which way goods of a category usually go at this border. */
static const char *customs_direction(const site_t *b, rng_t *r, int category)
{
	bool out;

	if (chance(r, 10))
		return "INLAND";
	switch (category) {
	case BLONET__CATEGORY__DRUGS: /* out of Shan State and Laos */
		out = strcmp(b->country, "MM") == 0 || strcmp(b->country, "LA") == 0;
		break;
	case BLONET__CATEGORY__PRECURSORS: /* into the labs */
		out = strcmp(b->across, "MM") == 0 || strcmp(b->across, "LA") == 0;
		break;
	case BLONET__CATEGORY__WILDLIFE:
	case BLONET__CATEGORY__TIMBER: /* to the markets of China and Viet Nam */
		out = strcmp(b->across, "CN") == 0 || strcmp(b->across, "VN") == 0;
		break;
	default:
		out = chance(r, 50);
		break;
	}
	return chance(r, 80) == out ? "EXPORT" : "IMPORT";
}

static const char *offence_of(rng_t *r, const blo_adapt_class_t *cls)
{
	if (cls->offences.n > 0)
		return cls->offences.v[0];
	switch (cls->category) {
	case BLONET__CATEGORY__WILDLIFE:
	case BLONET__CATEGORY__TIMBER:
		return "CITES";
	case BLONET__CATEGORY__PRECURSORS:
		return chance(r, 50) ? "MISDECLARATION" : "PROHIBITED";
	case BLONET__CATEGORY__DRUGS:
	case BLONET__CATEGORY__WEAPONS:
		return "PROHIBITED";
	default:
		return "SMUGGLING";
	}
}

static void customs_record(const site_t *b, rng_t *r, unsigned i, int mistake, out_t *o)
{
	static const char *const detections[] = { "XRAY", "K9", "PHYSICAL", "RISK_PROFILE",
						  "INTELLIGENCE", "TIP_OFF" };
	static const char *const road_types[] = { "pickup truck", "ten-wheel cargo truck",
						  "passenger car", "motorcycle", "van" };
	static const char *const boat_types[] = { "cargo boat", "long-tail speedboat",
						  "passenger ferry" };
	static const char *const roles[] = { "DRIVER", "CARRIER", "PASSENGER", "CONSIGNEE" };
	const blo_adapt_class_t *cls = pick_class(r, b->customs_classes, b->n_customs);
	const blo_adapt_level_t *lv = pick_level(r, cls);
	const char *direction = customs_direction(b, r, cls->category);
	const char *description = cls->name, *concealment = NULL, *marking = NULL;
	int64_t t = record_time(b, r, i);
	civil_t c = civil_of(t, b->offset);
	bool commercial = cls->category == BLONET__CATEGORY__PRECURSORS ||
			  cls->category == BLONET__CATEGORY__TIMBER ||
			  cls->category == BLONET__CATEGORY__COUNTERFEIT || chance(r, 15);
	bool water = b->water && chance(r, 60);
	long persons = rnd(r, 0, 3);
	char buf[128], hs[16];

	for (size_t k = 0; k < N(goods_text); k++)
		if (strcmp(goods_text[k].class_id, cls->id) == 0) {
			description = goods_text[k].description;
			concealment = goods_text[k].concealment;
			marking = goods_text[k].marking;
		}
	hs_of(r, cls, hs, sizeof(hs));
	if (mistake == C_NATIONALITY || mistake == C_DOCUMENT_NO)
		persons = persons > 0 ? persons : 1;

	o->first = true;
	out_puts(o, "{");
	snprintf(buf, sizeof(buf), "SZ-%s-%s-%05u", b->office->code, b->tag, i + 1);
	jstr(o, "seizure_ref", buf);
	if (mistake == C_OFFICE) {
		char lower[64];
		size_t k;

		for (k = 0; b->office->code[k] != '\0' && k + 1 < sizeof(lower); k++)
			lower[k] = (char)(b->office->code[k] >= 'A' && b->office->code[k] <= 'Z'
						  ? b->office->code[k] + 32
						  : b->office->code[k]);
		lower[k] = '\0';
		/* An office code with no letters: a digit dropped instead. */
		jstr(o, "office_code", strcmp(lower, b->office->code) != 0 ? lower
					: b->office->code + 1);
	} else {
		jstr(o, "office_code", b->office->code);
	}
	if (mistake == C_DATE) {
		snprintf(buf, sizeof(buf), "%04d-02-30T%02d:%02d:00", c.year, c.hour, c.minute);
	} else {
		iso_time(buf, sizeof(buf), t, b->offset);
	}
	jstr(o, "seized_at", buf);
	jstr(o, "offence", mistake == C_OFFENCE ? "DRUGS" : offence_of(r, cls));
	if (mistake != C_NO_DIRECTION)
		jstr(o, "direction", direction);
	jstr(o, "detection", PICK(r, detections));
	if (commercial && strcmp(direction, "INLAND") != 0) {
		bool export = strcmp(direction, "EXPORT") == 0;

		jopen(o, "declaration", "{");
		snprintf(buf, sizeof(buf), "%c%s%02d%02d%05ld", export ? 'B' : 'A', b->office->code,
			 c.year % 100, c.month, rnd(r, 1, 99999));
		jstr(o, "number", buf);
		jstr(o, "type", export ? "EXPORT" : "IMPORT");
		snprintf(buf, sizeof(buf), "%s %s Trading Co., Ltd.", b->here,
			 PICK(r, ((const char *const[]){ "Golden", "Mekong", "Friendship", "Star",
							  "Border" })));
		jstr(o, "declarant", buf);
		jclose(o, "}");
	}
	jopen(o, "goods", "[");
	jelem(o, true);
	jstr(o, "hs_code", mistake == C_HS_CODE ? "29X9.71" : hs);
	jstr(o, "description", description);
	jnum(o, "quantity", mistake == C_QUANTITY ? 0 : lv != NULL ? quantity(r, lv) : 1);
	jstr(o, "unit", mistake == C_UNIT ? "KG" : unece_unit(lv != NULL ? lv->unit : 0));
	if (cls->species != NULL)
		jstr(o, "species", cls->species);
	if (concealment != NULL)
		jstr(o, "concealment", concealment);
	if (marking != NULL)
		jstr(o, "marking", marking);
	jclose(o, "}");
	jclose(o, "]");
	if (cls->category != BLONET__CATEGORY__CURRENCY && chance(r, 90)) {
		const char *cc = chance(r, 50) ? b->country : b->across;

		jopen(o, "conveyance", "{");
		jstr(o, "mode", mistake == C_MODE ? "TRUCK" : water ? "RIVER" : "ROAD");
		jstr(o, "type", water ? PICK(r, boat_types) : PICK(r, road_types));
		plate(r, buf, sizeof(buf), cc);
		jstr(o, "registration", buf);
		jstr(o, "country", cc);
		jclose(o, "}");
	} else if (mistake == C_MODE) {
		jopen(o, "conveyance", "{");
		jstr(o, "mode", "TRUCK");
		jclose(o, "}");
	}
	if ((commercial && !water && chance(r, 40)) || mistake == C_CONTAINER) {
		char no[12];

		container_no(r, no, mistake == C_CONTAINER);
		jopen(o, "containers", "[");
		json_str(o, no);
		jclose(o, "]");
	}
	if (strcmp(direction, "INLAND") != 0 && chance(r, 70)) {
		bool export = strcmp(direction, "EXPORT") == 0;

		jopen(o, "route", "{");
		jstr(o, "from_country", export ? b->country : b->across);
		jstr(o, "from_place", export ? inland(r, b->country) : b->there);
		jstr(o, "to_country", export ? b->across : b->country);
		jstr(o, "to_place", export ? b->there : inland(r, b->country));
		jclose(o, "}");
	}
	if (persons > 0) {
		jopen(o, "persons", "[");
		for (long k = 0; k < persons; k++) {
			person_t p;
			long s = rnd(r, 1, 100);

			make_person(r, &p, nationality(b, r), 1960, 2004);
			jelem(o, k == 0);
			jstr(o, "name", p.latin);
			jstr(o, "name_local", p.local);
			jstr(o, "role", water && k == 0 ? "BOAT_OPERATOR" : PICK(r, roles));
			jstr(o, "status", s <= 70 ? "ARRESTED" : s <= 85 ? "ABSCONDED" : "RELEASED");
			jstr(o, "nationality", k == 0 && mistake == C_NATIONALITY ? p.cc3 : p.cc2);
			jstr(o, "birth_date", p.birth);
			jstr(o, "document_type", p.doc_type);
			if (!(k == 0 && mistake == C_DOCUMENT_NO))
				jstr(o, "document_no", p.doc_no);
			jclose(o, "}");
		}
		jclose(o, "]");
	}
	if (chance(r, 60)) {
		jopen(o, "customs_value", "{");
		jnum(o, "amount", (double)(rnd(r, 10, 50000) * 100));
		jstr(o, "currency", currency_of(b->country));
		jclose(o, "}");
	}
	snprintf(buf, sizeof(buf), "Seizure at the %s crossing; referred to the BLO %s.",
		 b->here, b->site);
	jstr(o, "remarks", buf);
	out_puts(o, "}");
	if (mistake == C_TRUNCATED && !o->oom)
		truncate_record(o);
	out_puts(o, "\n");
}

/* ---------------------------------------------------------------- immigration */

enum {
	I_NONE,
	I_CHECKPOINT,  /* checkpoint code in lower case */
	I_TIME,        /* "14/03/2025 08:15": a day-first date */
	I_HIT_TYPE,    /* "WATCHLIST" */
	I_NO_REASON,   /* a watch-list match without its reason */
	I_NATIONALITY, /* "THAI": a word, not a code */
	I_BIRTH_DATE,  /* 30 February */
	I_DOCUMENT_NO, /* a passport without its number */
	I_MINORS,      /* more minors than the group */
	I_FIELDS,      /* an unquoted comma in the notes: one field too many */
	I_DIRECTION,   /* "IN" */
	I_SEX,         /* "MALE" */
	I_GROUP,       /* a group of 0 */
	I_MISTAKES
};

static const char *const immigration_header[] = {
	"hit_ref",     "checkpoint", "time",       "hit_type",      "watchlist_ref",
	"watchlist_reason", "direction", "document_type", "document_no", "document_country",
	"nationality", "name",       "name_local", "sex",           "birth_date",
	"group_size",  "minors",     "vehicle_plate", "travel_from", "travel_to",
	"officer",     "notes"
};

static void immigration_record(const site_t *b, rng_t *r, unsigned i, int mistake, out_t *o)
{
	static const char *const reasons[] = { "DRUGS", "DRUGS", "DRUGS", "PRECURSORS",
					       "TRAFFICKING", "SMUGGLING", "WILDLIFE", "WANTED",
					       "WEAPONS" };
	static const char *const watch_notes[] = {
		"Name and birth date match the watch list; fingerprints taken, subject held.",
		"Subject calm, claims to be a trader in dried fruit.",
		"Interpol notice confirmed by the NCB desk.",
		"Match on document number; subject travelling with a second passport.",
	};
	static const char *const forged_notes[] = {
		"Photo page substituted; laminate lifted at the edge.",
		"UV check failed: no fluorescent fibres, printing by inkjet.",
		"Visa counterfeit; foil stamp wrong, serial used before.",
		"Border pass altered: issue date and name changed.",
	};
	static const char *const impostor_notes[] = {
		"Genuine passport of a relative; face does not match the photo.",
		"Could not give the holder's birth date or address.",
	};
	static const char *const tip_notes[] = {
		"Young women travelling with one male escort who holds all their passports.",
		"Recruited online for casino work across the border; contracts in Chinese only.",
		"Teenagers with new passports issued the same day; escort paid their fees.",
		"Escort answered for the group; two appeared under 18.\nReferred to the anti-trafficking unit.",
	};
	static const char *const group_notes[] = {
		"Group crossed the river by boat at night and was stopped on the bank road.",
		"Van stopped at the checkpoint; no one had travel documents.",
		"Guide fled into the fields; group waiting for onward transport.",
	};
	int64_t t = record_time(b, r, i);
	civil_t c = civil_of(t, b->offset);
	long k = rnd(r, 1, 100);
	const char *hit = k <= 35 ? "WATCHLIST_MATCH" : k <= 55 ? "FORGED_DOCUMENT"
			  : k <= 65 ? "IMPOSTOR" : k <= 85 ? "TIP_INDICATORS" : "SMUGGLED_GROUP";
	bool departing = chance(r, 50);
	const char *reason = "", *notes = "", *doc_type, *doc_no, *cc = nationality(b, r);
	char wref[64] = "", ref[128], when[40], group_s[16], minors_s[16] = "", plate_s[64] = "";
	char officer[16], nat[16];
	long group = 1, minors = 0;
	person_t p;

	if (mistake == I_NO_REASON)
		hit = "WATCHLIST_MATCH";
	if (mistake == I_MINORS)
		hit = "TIP_INDICATORS";
	if (strcmp(hit, "TIP_INDICATORS") == 0) {
		make_person(r, &p, cc, 1995, 2005);
		group = rnd(r, 1, 25);
		minors = chance(r, 35) ? rnd(r, 1, group < 5 ? group : 5) : 0;
		notes = PICK(r, tip_notes);
	} else if (strcmp(hit, "SMUGGLED_GROUP") == 0) {
		make_person(r, &p, strcmp(cc, b->country) == 0 ? b->across : cc, 1975, 2005);
		group = rnd(r, 3, 60);
		notes = PICK(r, group_notes);
		departing = false;
	} else {
		make_person(r, &p, cc, 1960, 2004);
		if (strcmp(hit, "WATCHLIST_MATCH") == 0) {
			reason = PICK(r, reasons);
			if (chance(r, 30))
				snprintf(wref, sizeof(wref), "INTERPOL-R-%04ld/%ld", rnd(r, 1, 9999),
					 (long)c.year - rnd(r, 1, 6));
			else
				snprintf(wref, sizeof(wref), "%s-IMM-WL-%06ld", b->country,
					 rnd(r, 1, 999999));
			notes = PICK(r, watch_notes);
		} else if (strcmp(hit, "FORGED_DOCUMENT") == 0) {
			notes = PICK(r, forged_notes);
		} else {
			notes = PICK(r, impostor_notes);
		}
	}
	doc_type = p.doc_type;
	doc_no = p.doc_no;
	if (strcmp(hit, "SMUGGLED_GROUP") == 0 && chance(r, 70) && mistake != I_DOCUMENT_NO) {
		doc_type = "NONE";
		doc_no = "";
	}
	if (mistake == I_DOCUMENT_NO) {
		doc_type = "PASSPORT";
		doc_no = "";
	}
	if ((strcmp(hit, "SMUGGLED_GROUP") == 0 || group > 5) && chance(r, 60))
		plate(r, plate_s, sizeof(plate_s), b->country);
	if (mistake == I_MINORS) {
		group = rnd(r, 2, 6);
		minors = group + rnd(r, 1, 3);
	}
	if (mistake == I_GROUP)
		group = 0;
	snprintf(ref, sizeof(ref), "%s-%s-%05u", b->checkpoint->code, b->tag, i + 1);
	if (mistake == I_TIME)
		snprintf(when, sizeof(when), "%02d/%02d/%04d %02d:%02d", c.day, c.month, c.year,
			 c.hour, c.minute);
	else
		snprintf(when, sizeof(when), "%04d-%02d-%02d %02d:%02d:%02d", c.year, c.month, c.day,
			 c.hour, c.minute, c.second);
	snprintf(group_s, sizeof(group_s), "%ld", group);
	if (minors > 0)
		snprintf(minors_s, sizeof(minors_s), "%ld", minors);
	snprintf(officer, sizeof(officer), "%s-%05ld", b->country, rnd(r, 1, 99999));
	if (mistake == I_NATIONALITY) {
		static const char *const words[][2] = { { "TH", "THAI" }, { "LA", "LAOTIAN" },
							{ "MM", "BURMESE" }, { "KH", "KHMER" },
							{ "CN", "CHINESE" }, { "VN", "VIETNAMESE" } };

		snprintf(nat, sizeof(nat), "BURMESE");
		for (size_t w = 0; w < N(words); w++)
			if (strcmp(words[w][0], p.cc2) == 0)
				snprintf(nat, sizeof(nat), "%s", words[w][1]);
	} else {
		snprintf(nat, sizeof(nat), "%s", chance(r, 85) ? p.cc3 : p.cc2);
	}
	if (mistake == I_BIRTH_DATE)
		memcpy(p.birth + 4, "-02-30", 6);

	csv_field(o, ref, false);
	if (mistake == I_CHECKPOINT) {
		char lower[64];
		size_t n;

		for (n = 0; b->checkpoint->code[n] != '\0' && n + 1 < sizeof(lower); n++)
			lower[n] = (char)(b->checkpoint->code[n] >= 'A' && b->checkpoint->code[n] <= 'Z'
						  ? b->checkpoint->code[n] + 32
						  : b->checkpoint->code[n]);
		lower[n] = '\0';
		csv_field(o, strcmp(lower, b->checkpoint->code) != 0 ? lower : "X", false);
	} else {
		csv_field(o, b->checkpoint->code, false);
	}
	csv_field(o, when, false);
	csv_field(o, mistake == I_HIT_TYPE ? "WATCHLIST" : hit, false);
	csv_field(o, wref, false);
	csv_field(o, mistake == I_NO_REASON ? "" : reason, false);
	csv_field(o, mistake == I_DIRECTION ? "IN" : departing ? "DEPARTURE" : "ARRIVAL", false);
	csv_field(o, doc_type, false);
	csv_field(o, doc_no, false);
	csv_field(o, strcmp(doc_type, "NONE") == 0 ? "" : p.cc3, false);
	csv_field(o, nat, false);
	csv_field(o, p.latin, false);
	csv_field(o, p.local, false);
	csv_field(o, mistake == I_SEX ? (p.sex[0] == 'F' ? "FEMALE" : "MALE") : p.sex, false);
	csv_field(o, p.birth, false);
	csv_field(o, group_s, false);
	csv_field(o, minors_s, false);
	csv_field(o, plate_s, false);
	csv_field(o, departing ? b->here : b->there, false);
	csv_field(o, departing ? b->there : inland(r, b->country), false);
	csv_field(o, officer, false);
	if (mistake == I_FIELDS) {
		/* Typed by hand into the export, unquoted. */
		out_puts(o, "Subject held, documents seized, referred to the BLO\r\n");
		o->len -= 2;
		o->s[o->len] = '\0';
		out_puts(o, ", case file opened\r\n");
	} else {
		csv_field(o, notes, true);
	}
}

/* ---------------------------------------------------------------- narcotics */

enum {
	N_NONE,
	N_DRUG,        /* "METH": no drug code of the rules */
	N_UNIT,        /* the unit's code in lower case */
	N_QUANTITY,    /* "350,000" as a string */
	N_LATITUDE,    /* latitude without longitude */
	N_REPORTED,    /* reported before it occurred */
	N_SEIZURE_UNIT, /* "tabs" */
	N_PHONE,       /* a local number, not E.164 */
	N_ID_NO,       /* id_no without id_type */
	N_TRUNCATED,   /* the export cut the line */
	N_RELEASE,     /* "LOCAL": no release marking */
	N_NATIONALITY, /* "Thai" */
	N_AT_LARGE,    /* 2.5 suspects at large */
	N_MISTAKES
};

static const char *drug_unit_text(int unit)
{
	switch (unit) {
	case BLONET__UNIT__TABLET:
		return "tablets";
	case BLONET__UNIT__LITRE:
		return "l";
	case BLONET__UNIT__PIECE:
		return "pieces";
	default:
		return "kg";
	}
}

static const char *const modus[] = {
	"Tablets hidden in the fuel tank of a pickup truck driven by hired couriers.",
	"Drugs carried across the river at night by boat, handed over on the bank.",
	"Backpack couriers on foot along mountain trails.",
	"Crystal methamphetamine packed as Chinese tea, sent on by parcel service.",
	"Couriers recruited on social media, paid per trip.",
	"Precursors moved in drums declared as industrial chemicals.",
	"Stash house near the border; drugs moved in small loads by motorcycle.",
};
static const char *const arrest_roles[] = { "COURIER", "DRIVER", "ORGANISER", "LOOKOUT",
					    "BUYER", "SELLER", "FINANCIER" };
static const char *const vehicle_types[] = { "pickup truck", "passenger car", "motorcycle",
					     "van", "long-tail boat" };

static void narcotics_record(const site_t *b, rng_t *r, unsigned i, int mistake, bool national,
			     out_t *o)
{
	const blo_adapt_place_t *unit = b->units[rnd(r, 0, (long)b->n_units - 1)];
	const blo_adapt_place_t *district =
		b->n_districts > 0 && chance(r, 80) ? b->districts[rnd(r, 0, (long)b->n_districts - 1)]
						    : NULL;
	int64_t t = record_time(b, r, i), latest = b->start_ms + b->span_ms;
	civil_t c = civil_of(t, b->offset);
	int n_seizures = chance(r, 75) ? 1 : (int)rnd(r, 2, 3), n_arrests = (int)rnd(r, 0, 4);
	long at_large = chance(r, 30) ? rnd(r, 1, 4) : 0;
	/* Drugs leave Shan State; elsewhere they mostly come in. */
	bool inbound = chance(r, strcmp(b->country, "MM") == 0 ? 25 : 80);
	char buf[160];

	if (mistake == N_ID_NO || mistake == N_NATIONALITY)
		n_arrests = n_arrests > 0 ? n_arrests : 1;
	o->first = true;
	out_puts(o, "{");
	/* The unit, a running number and the year (Buddhist era in Thailand). */
	snprintf(buf, sizeof(buf), "%s-%s-%05u/%d", unit->code, b->tag, i + 1,
		 c.year + (strcmp(b->country, "TH") == 0 ? 543 : 0));
	jstr(o, "case_no", buf);
	if (mistake == N_UNIT) {
		char lower[64];
		size_t n;

		for (n = 0; unit->code[n] != '\0' && n + 1 < sizeof(lower); n++)
			lower[n] = (char)(unit->code[n] >= 'A' && unit->code[n] <= 'Z'
						  ? unit->code[n] + 32
						  : unit->code[n]);
		lower[n] = '\0';
		jstr(o, "unit", strcmp(lower, unit->code) != 0 ? lower : "X");
	} else {
		jstr(o, "unit", unit->code);
	}
	jstr(o, "province", b->province);
	if (district != NULL)
		jstr(o, "district", district->code);
	snprintf(buf, sizeof(buf), "%s, %s road, km %ld",
		 PICK(r, ((const char *const[]){ "checkpoint", "river bank", "rented house",
						  "bus terminal", "village track" })),
		 b->here, rnd(r, 1, 40));
	jstr(o, "place", buf);
	if (b->x->position.latitude != 0 || b->x->position.longitude != 0 || mistake == N_LATITUDE) {
		jnum(o, "latitude",
		     (double)(long long)((b->x->position.latitude + (double)rnd(r, -300, 300) / 10000.0) *
					 10000.0) / 10000.0);
		if (mistake != N_LATITUDE)
			jnum(o, "longitude",
			     (double)(long long)((b->x->position.longitude +
						  (double)rnd(r, -300, 300) / 10000.0) * 10000.0) / 10000.0);
	}
	iso_time(buf, sizeof(buf), t, b->offset);
	jstr(o, "occurred_at", buf);
	if (mistake == N_REPORTED) {
		iso_time(buf, sizeof(buf), t - rnd(r, 1, 48) * 3600000LL, b->offset);
		jstr(o, "reported_at", buf);
	} else if (chance(r, 80)) {
		int64_t reported = t + rnd(r, 60, 600) * 60000LL;

		if (reported <= latest) {
			iso_time(buf, sizeof(buf), reported, b->offset);
			jstr(o, "reported_at", buf);
		}
	}
	jopen(o, "seizures", "[");
	for (int k = 0; k < n_seizures; k++) {
		const struct drug *d = &b->drugs[rnd(r, 0, (long)b->n_drugs - 1)];
		const blo_adapt_level_t *lv = d->cls->levels.v;
		double q = 1;

		/* Precursors come alone. */
		if (k > 0 && d->cls->category == BLONET__CATEGORY__PRECURSORS)
			break;
		for (size_t l = 0; l < d->cls->levels.n; l++)
			if (lv[l].unit == d->unit)
				q = quantity(r, &lv[l]);
		jelem(o, k == 0);
		jstr(o, "drug", mistake == N_DRUG && k == 0 ? "METH" : d->code);
		if (mistake == N_QUANTITY && k == 0) {
			num_text(buf, sizeof(buf), q);
			jstr(o, "quantity", buf);
		} else {
			jnum(o, "quantity", q);
		}
		jstr(o, "unit", mistake == N_SEIZURE_UNIT && k == 0 ? "tabs" : drug_unit_text(d->unit));
		for (size_t g = 0; g < N(goods_text); g++)
			if (strcmp(goods_text[g].class_id, d->cls->id) == 0 &&
			    goods_text[g].marking != NULL)
				jstr(o, "marking", goods_text[g].marking);
		if (chance(r, 40))
			jstr(o, "concealment",
			     PICK(r, ((const char *const[]){ "fuel tank", "spare tyre", "sacks of rice",
							      "backpacks", "speaker boxes" })));
		jclose(o, "}");
	}
	jclose(o, "]");
	if (n_arrests > 0) {
		jopen(o, "arrests", "[");
		for (int k = 0; k < n_arrests; k++) {
			person_t p;

			make_person(r, &p, nationality(b, r), 1965, 2005);
			jelem(o, k == 0);
			jstr(o, "name", p.latin);
			jstr(o, "name_local", p.local);
			jstr(o, "nationality", mistake == N_NATIONALITY && k == 0 ? "Thai" : p.cc2);
			jstr(o, "birth_date", p.birth);
			if (!(mistake == N_ID_NO && k == 0))
				jstr(o, "id_type", p.doc_type);
			jstr(o, "id_no", p.doc_no);
			jstr(o, "role", k == 0 ? "COURIER" : PICK(r, arrest_roles));
			jclose(o, "}");
		}
		jclose(o, "]");
	}
	if (mistake == N_AT_LARGE) {
		jkey(o, "suspects_at_large");
		out_puts(o, "2.5");
	} else if (at_large > 0) {
		jnum(o, "suspects_at_large", (double)at_large);
	}
	if (chance(r, 60)) {
		const char *type = PICK(r, vehicle_types);

		jopen(o, "vehicles", "[");
		jelem(o, true);
		jstr(o, "type", type);
		plate(r, buf, sizeof(buf), b->country);
		jstr(o, "plate", buf);
		jstr(o, "country", b->country);
		jclose(o, "}");
		jclose(o, "]");
	}
	if (chance(r, 50) || mistake == N_PHONE) {
		jopen(o, "phones", "[");
		if (mistake == N_PHONE)
			snprintf(buf, sizeof(buf), "0%ld%08ld", rnd(r, 8, 9), rnd(r, 0, 99999999));
		else
			phone(r, buf, sizeof(buf), b->country);
		json_str(o, buf);
		if (chance(r, 40)) {
			phone(r, buf, sizeof(buf), b->across);
			out_puts(o, ",");
			json_str(o, buf);
		}
		jclose(o, "]");
	}
	if (chance(r, 85)) {
		jopen(o, "route", "{");
		jstr(o, "from_country", inbound ? b->across : b->country);
		jstr(o, "from_place", inbound ? b->there : inland(r, b->country));
		jstr(o, "to_country", inbound ? b->country : b->across);
		jstr(o, "to_place", inbound ? inland(r, b->country) : b->there);
		jclose(o, "}");
	}
	jstr(o, "modus_operandi", PICK(r, modus));
	snprintf(buf, sizeof(buf), "Case at the %s crossing, reported to the BLO %s.", b->here,
		 b->site);
	jstr(o, "summary", buf);
	if (mistake == N_RELEASE)
		jstr(o, "release", "LOCAL");
	else if (national)
		jstr(o, "release", "NATIONAL");
	out_puts(o, "}");
	if (mistake == N_TRUNCATED && !o->oom)
		truncate_record(o);
	out_puts(o, "\n");
}

/* ---------------------------------------------------------------- driver */

static void site_free(site_t *b)
{
	free(b->units);
	free(b->districts);
	free(b->customs_classes);
	free(b->drugs);
}

/* Finds what the crossing's agencies use. Returns 0, BLO_ENOTFOUND, BLO_ENOMEM. */
static int site_init(site_t *b, const blo_adapt_rules_t *rules, const char *site, uint64_t seed,
		    blo_err_t *err)
{
	const blo_adapt_class_t *classes = rules->commodities.v;
	const char *dash;
	size_t n;

	b->rules = rules;
	b->x = blo_adapt_rules_crossing(rules, site);
	if (b->x == NULL)
		return blo_err_set(err, BLO_ENOTFOUND, "\"%s\" is not a crossing of the rules", site);
	b->site = b->x->site;
	b->country = rules->country;
	b->across = b->x->counterpart_country;
	b->offset = rules->utc_offset_minutes;
	for (int a = 0; a < BLO_ADAPT_AGENCIES; a++)
		if (!blo_adapt_rules_has(rules, (blo_adapt_agency_t)a))
			return blo_err_set(err, BLO_ENOTFOUND, "the rules have no \"%s\" section",
					   blo_adapt_agency_name((blo_adapt_agency_t)a));
	/* "Mae Sai - Tachileik": this side, the other side. */
	dash = strstr(b->x->name, " - ");
	if (dash != NULL) {
		snprintf(b->here, sizeof(b->here), "%.*s", (int)(dash - b->x->name), b->x->name);
		snprintf(b->there, sizeof(b->there), "%s", dash + 3);
	} else {
		snprintf(b->here, sizeof(b->here), "%s", b->x->name);
		snprintf(b->there, sizeof(b->there), "%s", b->x->counterpart);
	}
	b->province = "Border Province";
	for (size_t i = 0; i < N(provinces); i++)
		if (strcmp(provinces[i].site, site) == 0)
			b->province = provinces[i].province;
	for (size_t i = 0; i < N(water_sites); i++)
		if (strcmp(water_sites[i], site) == 0)
			b->water = true;
	/* The seed in the references; a long site by its hash. */
	if (strlen(site) <= 20)
		snprintf(b->tag, sizeof(b->tag), "%s-%llX", site, (unsigned long long)seed);
	else
		snprintf(b->tag, sizeof(b->tag), "S%08X-%llX", (unsigned)fnv1a(site),
			 (unsigned long long)seed);

	for (int a = 0; a < BLO_ADAPT_AGENCIES; a++) {
		const blo_adapt_agency_rules_t *ar = &rules->agency[a];
		const blo_adapt_place_t *places = ar->places.v;

		for (size_t i = 0; i < ar->places.n; i++) {
			if (strcmp(places[i].crossing, site) != 0)
				continue;
			if (a == BLO_ADAPT_CUSTOMS && b->office == NULL)
				b->office = &places[i];
			else if (a == BLO_ADAPT_IMMIGRATION && b->checkpoint == NULL)
				b->checkpoint = &places[i];
			else if (a == BLO_ADAPT_NARCOTICS)
				b->n_units++;
		}
	}
	if (b->office == NULL || b->checkpoint == NULL || b->n_units == 0)
		return blo_err_set(err, BLO_ENOTFOUND, "the rules have no %s at \"%s\"",
				   b->office == NULL ? "customs office"
				   : b->checkpoint == NULL ? "immigration checkpoint"
							   : "narcotics unit",
				   site);
	n = rules->agency[BLO_ADAPT_NARCOTICS].districts.n;
	b->units = calloc(b->n_units, sizeof(*b->units));
	b->districts = calloc(n + 1, sizeof(*b->districts));
	b->customs_classes = calloc(rules->commodities.n + 1, sizeof(*b->customs_classes));
	b->drugs = calloc(rules->commodities.n * 8 + 1, sizeof(*b->drugs));
	if (b->units == NULL || b->districts == NULL || b->customs_classes == NULL || b->drugs == NULL)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	{
		const blo_adapt_agency_rules_t *ar = &rules->agency[BLO_ADAPT_NARCOTICS];
		const blo_adapt_place_t *places = ar->places.v, *districts = ar->districts.v;
		size_t k = 0;

		for (size_t i = 0; i < ar->places.n; i++)
			if (strcmp(places[i].crossing, site) == 0)
				b->units[k++] = &places[i];
		for (size_t i = 0; i < n; i++)
			if (strcmp(districts[i].crossing, site) == 0)
				b->districts[b->n_districts++] = &districts[i];
	}
	for (size_t i = 0; i < rules->commodities.n; i++) {
		const blo_adapt_class_t *cls = &classes[i];
		const blo_adapt_level_t *lv = cls->levels.v;

		/* Customs finds a class by HS code or offence, with a level to rate it. */
		if ((cls->hs_codes.n > 0 || cls->offences.n > 0) && cls->levels.n > 0)
			b->customs_classes[b->n_customs++] = cls;
		for (size_t d = 0; d < cls->drug_codes.n && b->n_drugs < rules->commodities.n * 8; d++) {
			for (size_t l = 0; l < cls->levels.n; l++) {
				int u = lv[l].unit;

				if (u != BLONET__UNIT__TABLET && u != BLONET__UNIT__KILOGRAM &&
				    u != BLONET__UNIT__LITRE && u != BLONET__UNIT__PIECE)
					continue;
				b->drugs[b->n_drugs++] = (struct drug){ cls->drug_codes.v[d], cls, u };
				break;
			}
		}
	}
	if (b->n_customs == 0 || b->n_drugs == 0)
		return blo_err_set(err, BLO_ENOTFOUND,
				   "the rules have no commodity class %s",
				   b->n_customs == 0 ? "with an HS code or offence and levels"
						     : "with a drug code and levels");
	return 0;
}

/* Marks `k` of the n positions (a partial Fisher-Yates shuffle of order). */
static void choose(rng_t *r, unsigned *order, unsigned n, unsigned k, unsigned char *mark,
		   unsigned char value)
{
	for (unsigned i = 0; i < k && i < n; i++) {
		unsigned j = i + (unsigned)(next_u64(r) % (uint64_t)(n - i)), tmp = order[i];

		order[i] = order[j];
		order[j] = tmp;
		mark[order[i]] = value;
	}
}

enum { GOOD = 0, BROKEN = 1, NATIONAL = 2 };

/* Writes one agency's file as DIR/NAME.tmp, then renames it. */
static int write_agency(const site_t *b, blo_adapt_agency_t agency, uint64_t seed,
			unsigned broken, unsigned national, const char *dir, blo_err_t *err)
{
	static const char *const names[] = { "customs.jsonl", "immigration.csv", "narcotics.jsonl" };
	static const int mistakes[] = { C_MISTAKES, I_MISTAKES, N_MISTAKES };
	rng_t r = { seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(agency + 1)) ^ fnv1a(b->site) };
	rng_t pick = { r.state ^ 0x5eed5eed5eed5eedULL };
	unsigned *order = calloc(b->count + 1, sizeof(*order)), next_mistake;
	unsigned char *mark = calloc(b->count + 1, 1);
	char *path = NULL, *tmp = NULL;
	out_t o = { 0 };
	FILE *f = NULL;
	int rc = 0;

	if (order == NULL || mark == NULL || asprintf(&path, "%s/%s", dir, names[agency]) < 0 ||
	    asprintf(&tmp, "%s/.%s.tmp", dir, names[agency]) < 0) {
		rc = blo_err_set(err, BLO_ENOMEM, "out of memory");
		goto out;
	}
	/* Which records are broken, then which good narcotics cases stay national. */
	for (unsigned i = 0; i < b->count; i++)
		order[i] = i;
	choose(&pick, order, b->count, broken, mark, BROKEN);
	if (agency == BLO_ADAPT_NARCOTICS && national > 0)
		choose(&pick, order + broken, b->count - broken, national, mark, NATIONAL);
	next_mistake = (unsigned)(next_u64(&pick) % (uint64_t)(mistakes[agency] - 1));

	f = fopen(tmp, "w");
	if (f == NULL) {
		rc = blo_err_set(err, -errno, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (agency == BLO_ADAPT_IMMIGRATION) {
		for (size_t k = 0; k < N(immigration_header); k++)
			csv_field(&o, immigration_header[k], k + 1 == N(immigration_header));
	}
	for (unsigned i = 0; i < b->count; i++) {
		int mistake = 0;

		if (mark[i] == BROKEN) {
			mistake = 1 + (int)(next_mistake % (unsigned)(mistakes[agency] - 1));
			next_mistake++;
		}
		switch (agency) {
		case BLO_ADAPT_CUSTOMS:
			customs_record(b, &r, i, mistake, &o);
			break;
		case BLO_ADAPT_IMMIGRATION:
			immigration_record(b, &r, i, mistake, &o);
			break;
		default:
			narcotics_record(b, &r, i, mistake, mark[i] == NATIONAL, &o);
			break;
		}
		if (o.oom) {
			rc = blo_err_set(err, BLO_ENOMEM, "out of memory");
			goto out;
		}
		if (o.len > 0 && fwrite(o.s, 1, o.len, f) != o.len) {
			rc = blo_err_set(err, -errno, "%s: %s", tmp, strerror(errno));
			goto out;
		}
		o.len = 0;
	}
	if (o.len > 0 && fwrite(o.s, 1, o.len, f) != o.len) { /* a header and no record */
		rc = blo_err_set(err, -errno, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fclose(f) != 0) {
		f = NULL;
		rc = blo_err_set(err, -errno, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	f = NULL;
	if (rename(tmp, path) != 0)
		rc = blo_err_set(err, -errno, "%s: %s", path, strerror(errno));
out:
	if (f != NULL)
		fclose(f);
	if (rc != 0 && tmp != NULL)
		unlink(tmp);
	free(o.s);
	free(order);
	free(mark);
	free(path);
	free(tmp);
	return rc;
}

int blo_samples_write(const char *rules_path, const char *site, unsigned count,
		      unsigned broken, unsigned national, uint64_t seed,
		      int64_t now_ms, unsigned span_days, const char *dir,
		      blo_err_t *err)
{
	blo_adapt_rules_t *rules = NULL;
	site_t b = { 0 };
	int rc;

	if (rules_path == NULL || site == NULL || dir == NULL)
		return blo_err_set(err, BLO_EINVAL, "samples: rules, site and folder are required");
	if (count > MAX_COUNT || broken > count || national > count - broken || span_days == 0)
		return blo_err_set(err, BLO_EINVAL,
				   "samples: need broken <= count <= %u, national <= count - broken "
				   "and span_days > 0 (count %u, broken %u, national %u, span %u)",
				   MAX_COUNT, count, broken, national, span_days);
	if ((rc = blo_adapt_rules_load(&rules, rules_path, err)) != 0)
		return rc;
	if ((rc = site_init(&b, rules, site, seed, err)) != 0) {
		blo_err_prefix(err, "%s", rules_path);
		goto out;
	}
	b.count = count;
	b.span_ms = (int64_t)span_days * DAY_MS;
	b.start_ms = now_ms - b.span_ms;
	for (int a = 0; a < BLO_ADAPT_AGENCIES && rc == 0; a++)
		rc = write_agency(&b, (blo_adapt_agency_t)a, seed, broken, national, dir, err);
out:
	site_free(&b);
	blo_adapt_rules_free(&rules);
	return rc;
}
