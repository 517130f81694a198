// The default country of an import's phone numbers (SPEC §6.5): a select of the countries the
// server's phone library knows (GET /api/meta `countries`, the list it checks default_country
// against), named in the user's language.

import { h } from "./dom.js";
import { meta } from "./meta.js";

let names = null;

/** "United Kingdom" for "GB", in the browser's language (the code itself when it has no name). */
export function countryName(code) {
  if (!code) return "";
  try {
    names ??= new Intl.DisplayNames(undefined, { type: "region" });
    return names.of(code) || code;
  } catch {
    return code;
  }
}

/** [code, name] of every country, sorted by name. */
function countries() {
  return meta.countries.map((c) => [c, countryName(c)]).sort((a, b) => a[1].localeCompare(b[1]));
}

/** The select of the default country, holding `value` ("" for none). */
export function countrySelect(value, { none = "No default country" } = {}) {
  const wanted = (value || "").toUpperCase();
  const options = countries();
  if (wanted && !options.some(([c]) => c === wanted)) options.unshift([wanted, countryName(wanted)]);
  const el = h("select", {}, h("option", { value: "" }, none));
  for (const [code, name] of options) el.append(h("option", { value: code }, `${name} (${code})`));
  el.value = wanted;
  return el;
}
