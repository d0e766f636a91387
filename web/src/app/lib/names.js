// How the pages show the names a record gives for a person: the platform's label, then the
// value as people write it ("X (Twitter): @name", "Phone: +44 20 7946 0958"), never the
// "kind:value" form glued together (that is the matching form, shown only beside it).
import { PLATFORMS_BY_KIND } from '../../sdk/index.js';
import { el, breakable } from './ui.js';

/** "Email", "Phone", "X (Twitter)": a kind's label, starting a line. */
export function kindLabel(kind) {
  const label = PLATFORMS_BY_KIND[kind]?.label || kind;
  return label.charAt(0).toUpperCase() + label.slice(1);
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
  return `${kindLabel(ident.kind)}: ${shownValue(ident.kind, ident.value)}`;
}

/** "Phone: +44 20 7946 0111" for a canonical form "phone:+442079460111" (kept as it is if unknown). */
export function readableCanonical(canonical) {
  const kind = kindOf(canonical);
  return kind ? `${kindLabel(kind)}: ${shownValue(kind, canonical.slice(kind.length + 1))}` : String(canonical || '');
}

/**
 * A list item for one name a record gives: "Email: Sam.Doe@Gmail.com → email:samdoe@gmail.com",
 * what was typed under its label, then the exact form it is matched on.
 */
export function namedItem(typed, canonical) {
  const kind = kindOf(canonical);
  return el('li', {}, kind ? `${kindLabel(kind)}: ` : '', breakable(typedValue(typed, kind)), ' → ',
    el('span', { class: 'canonical' }, breakable(canonical || '')));
}
