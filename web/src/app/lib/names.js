// How the pages show the names a record gives for a person: the platform's label, then the
// value as people write it ("X (Twitter): @name", "Phone: +44 20 7946 0958"), never the
// "kind:value" form glued together (that is the matching form, shown only beside it). The labels
// that are words ("Email", "Phone") are in the person's language; a platform's own name is not
// translated. Values keep their own direction in a right-to-left page (<bdi> in the lists).
import { PLATFORMS_BY_KIND, supportedRegions } from '../../sdk/index.js';
import { el, breakable } from './ui.js';
import { has, language, t } from './i18n.js';

/** "Email", "Phone", "X (Twitter)": a kind's label, starting a line. */
export function kindLabel(kind) {
  if (has(`app.names.kind.${kind}`)) return t(`app.names.kind.${kind}`);
  const label = PLATFORMS_BY_KIND[kind]?.label || kind;
  return label.charAt(0).toUpperCase() + label.slice(1);
}

/** "Phone: +44 20 7946 0958": a label and its value, as the language writes them. */
function labelled(kind, value) {
  return t('app.names.labelled', { label: kindLabel(kind), value });
}

/** The kind of a canonical form "kind:value" ('' if it has none we know). */
export function kindOf(canonical) {
  const i = String(canonical || '').indexOf(':');
  const kind = i > 0 ? canonical.slice(0, i) : '';
  return Object.hasOwn(PLATFORMS_BY_KIND, kind) ? kind : '';
}

/** What the person typed, without the "kind:" put in front of a profile's name or link. */
export function typedValue(typed, kind) {
  const prefix = `${kind}:`;
  return kind && typed.toLowerCase().startsWith(prefix) ? typed.slice(prefix.length) : typed;
}

/** The value of a normalised identifier as its platform writes it: "@name", "+44 20 7946 0958". */
export function shownValue(kind, value) {
  const platform = PLATFORMS_BY_KIND[kind];
  try { return platform ? platform.show(value) : value; } catch { return value; }
}

/** "X (Twitter): @name" for a normalised identifier ({kind, value}). */
export function readable(ident) {
  return labelled(ident.kind, shownValue(ident.kind, ident.value));
}

/** "Phone: +44 20 7946 0111" for a canonical form "phone:+442079460111" (kept as it is if unknown). */
export function readableCanonical(canonical) {
  const kind = kindOf(canonical);
  return kind ? labelled(kind, shownValue(kind, canonical.slice(kind.length + 1))) : String(canonical || '');
}

/**
 * A list item for one name a record gives: "Email: Sam.Doe@Gmail.com → email:samdoe@gmail.com",
 * what was typed under its label, then the exact form it is matched on.
 */
export function namedItem(typed, canonical) {
  const kind = kindOf(canonical);
  return el('li', {}, kind ? `${t('app.names.prefix', { label: kindLabel(kind) })} ` : '',
    el('bdi', {}, breakable(typedValue(typed, kind))), ' ', el('span', { class: 'arrow' }, '→'), ' ',
    el('span', { class: 'canonical' }, breakable(canonical || '')));
}

function browserLanguages() {
  const nav = globalThis.navigator;
  if (!nav) return [];
  return nav.languages?.length ? [...nav.languages] : [nav.language].filter(Boolean);
}

/**
 * The country a phone number typed without + is read in, before the person chooses one; never a fixed
 * country. A country the browser's languages name comes first, since it says where the device is set
 * up: one given with the page's language (es-MX when Spanish is chosen), else any (en-GB). Else the
 * country the page's language implies (Intl.Locale's likely subtags: "es" gives ES, "ar" gives EG), else
 * the one the browser's languages imply. null when nothing gives one (no language at all, or only
 * regions no phone numbering knows): the person then picks the country or writes the number with +
 * and its country code. LANGUAGES and PREFERRED default to the browser's languages and the page's.
 */
export function defaultRegion({ languages = browserLanguages(), preferred = language() } = {}) {
  const known = supportedRegions();
  const tags = languages.filter((tag) => typeof tag === 'string' && tag);
  const primary = (tag) => String(tag).toLowerCase().split(/[-_]/)[0];
  const regionOf = (tag, likely) => {
    if (!tag || primary(tag) === 'und') return null; // "undetermined" would only give a fixed guess
    try {
      const locale = new Intl.Locale(String(tag).replace(/_/g, '-'));
      const region = likely ? locale.maximize().region : locale.region;
      return region && known.has(region) ? region : null;
    } catch {
      return null; // not a language tag
    }
  };
  const candidates = [
    ...tags.filter((tag) => primary(tag) === preferred).map((tag) => [tag, false]),
    ...tags.map((tag) => [tag, false]),
    [preferred, true],
    ...tags.map((tag) => [tag, true]),
  ];
  for (const [tag, likely] of candidates) {
    const region = regionOf(tag, likely);
    if (region) return region;
  }
  return null;
}
