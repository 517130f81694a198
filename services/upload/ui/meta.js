// The product's rules as the server states them (GET /api/meta, from shared/fields.py and the
// filter language): standard fields with their labels and kinds, operators per kind, CSV
// encodings and delimiters, the custom-attribute naming rules and types, the countries of a
// default_country. Loaded once before the first view.

import { api } from "./api.js";

export const meta = {
  fields: [],
  mapping_extras: [],
  operators: {},
  encodings: [],
  delimiters: [],
  attribute_name: { max_length: 190, forbidden: [".", "$"], reserved: [] },
  max_attributes: 250,
  attribute_types: [],
  countries: [],
  ingestion_days: 7,
};

export async function loadMeta() {
  Object.assign(meta, await api("GET", "/api/meta"));
}

/** [name, label] of the standard fields a CSV column can be mapped to (tags apart). */
export function mappableFields() {
  return meta.fields.filter((f) => f.mappable && f.name !== "tags").map((f) => [f.name, f.label]);
}

/** Labels of every mapping target: the mappable fields, tags and the extras (last name). */
export function mappingLabels() {
  return Object.fromEntries([...meta.fields, ...meta.mapping_extras].filter((f) => f.mappable).map((f) => [f.name, f.label]));
}

/** Field → label of a mapping extra (the last-name column). */
export function extra(name) {
  const found = meta.mapping_extras.find((f) => f.name === name);
  return [name, found ? found.label : name];
}

/** [name, label, kind] of the standard fields the audience builder offers. */
export function filterFields() {
  return meta.fields.filter((f) => f.kind && f.name !== "id" && f.name !== "updated_at").map((f) => [f.name, f.label, f.kind]);
}

export function reservedNames() {
  return new Set(meta.attribute_name.reserved);
}
