// Writes tests/vectors/locale_formats_icu.json: how ICU (through Intl, as Chromium formats for the web app)
// writes numbers, percentages, sizes, dates, times and lists in the locales the Python side must match.
// Run with Node (its ICU is the one Chromium's Intl uses, give or take a release):
//     node tests/vectors/make_locale_formats.mjs > tests/vectors/locale_formats_icu.json
// tests/test_i18n.py reads the file and checks consilience.i18n's formatters against every string.

const LOCALES = ['en', 'es', 'es-MX', 'ar', 'ar-EG', 'ar-SA', 'ar-MA'];
const NUMBERS = [0, 7, 1234, 12345.6, -1234.5, 1234567.891, 0.25, 1000000];
const PERCENTS = [0, 0.25, 1, 12.34];
// bytes; a size is said in the largest of byte, kB, MB, GB (CLDR's units, powers of 1000) it fills
const SIZES = [0, 512, 1536, 70_200_000, 3_221_225_472];
const MOMENTS = ['2026-03-01T18:04:05Z', '2026-12-25T09:30:00Z'];
const WIDTHS = ['short', 'medium', 'long', 'full'];
// consilience.i18n writes times and moments only in these (long and full name the zone and glue date
// and time with words that Babel's CLDR data does not carry)
const CLOCK_WIDTHS = ['short', 'medium'];
const LISTS = [[1], [1, 20], [1, 20, 300, 4000]];

function size(locale, bytes) {
  const units = [['byte', 1], ['kilobyte', 1e3], ['megabyte', 1e6], ['gigabyte', 1e9]];
  let [unit, scale] = units[0];
  for (const [u, s] of units) if (bytes >= s) [unit, scale] = [u, s];
  return new Intl.NumberFormat(locale, { style: 'unit', unit, maximumFractionDigits: 1 }).format(bytes / scale);
}

const out = {
  source: 'node tests/vectors/make_locale_formats.mjs (Intl, the ICU that Chromium also formats with)',
  icu: process.versions.icu,
  cldr: process.versions.cldr,
  node: process.version,
  time_zone: 'UTC',
  locales: {},
};
for (const locale of LOCALES) {
  const number = new Intl.NumberFormat(locale);
  const percent = new Intl.NumberFormat(locale, { style: 'percent' });
  const entry = {
    numbering_system: number.resolvedOptions().numberingSystem,
    number: NUMBERS.map((n) => [n, number.format(n)]),
    percent: PERCENTS.map((n) => [n, percent.format(n)]),
    size: SIZES.map((n) => [n, size(locale, n)]),
    date: [], time: [], datetime: [],
    list: LISTS.map((items) => [items, new Intl.ListFormat(locale).format(items.map((n) => number.format(n)))]),
  };
  for (const moment of MOMENTS) {
    const at = new Date(moment);
    for (const width of WIDTHS) {
      const fmt = (o) => new Intl.DateTimeFormat(locale, { timeZone: 'UTC', ...o }).format(at);
      entry.date.push([moment, width, fmt({ dateStyle: width })]);
      if (!CLOCK_WIDTHS.includes(width)) continue;
      entry.time.push([moment, width, fmt({ timeStyle: width })]);
      entry.datetime.push([moment, width, fmt({ dateStyle: width, timeStyle: width })]);
    }
  }
  out.locales[locale] = entry;
}
console.log(JSON.stringify(out, null, 1));
