// The compatible APIs' entries in the import history (Segment's, Intercom's): one rolling entry
// a day, named "Segment 2026-12-01" or "Intercom API 2026-12-01", counting the people its messages created, updated or failed to
// write that UTC day. Such an entry has no file, no list of changes and no error report, and
// cannot be undone (the undo answers 409), so the history and the import page show it with
// these helpers and link to the Connect page's message log instead.

import { h } from "./dom.js";

const FEEDS = {
  segment: { name: "Segment (API)", what: "your Segment library", source: "segment" },
  intercom: { name: "Intercom (API)", what: "your Intercom client", source: "intercom" },
};

/** The API an entry counts the messages of ({name, what, log}), or null for a file import. */
export function feedOf(imp) {
  return (imp && Object.hasOwn(FEEDS, imp.source) && FEEDS[imp.source]) || null;
}

/** The day an entry counts, in the reader's words ("1 Dec 2026"): its name's UTC date. */
export function feedDay(imp) {
  const match = /(\d{4})-(\d{2})-(\d{2})$/.exec(imp.file_name || "");
  const date = match ? new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))) : new Date(imp.created_at);
  if (Number.isNaN(date.getTime())) return imp.file_name || "";
  return date.toLocaleDateString(undefined, { dateStyle: "medium", timeZone: "UTC" });
}

/** "Segment (API), 1 Dec 2026": the entry's heading and its name in the history. */
export function feedTitle(imp) {
  return `${feedOf(imp).name}, ${feedDay(imp)}`;
}

/**
 * Links to the messages behind an entry: the Connect page's log, and its problems alone when
 * some failed. The log holds the last messages, not only that day's, and says so.
 */
export function feedLinks(imp, { button = false } = {}) {
  const feed = feedOf(imp);
  const cls = button ? "button secondary" : null;
  const links = [
    h("a", { class: cls, href: `#/connect?source=${feed.source}&log=all`, "aria-label": `See the messages received from ${feed.name}` }, "See the messages received"),
  ];
  if (imp.counts.failed > 0) {
    links.push(
      h("a", { class: cls, href: `#/connect?source=${feed.source}&log=problems`, "aria-label": `See the problems of the messages from ${feed.name}` }, "See the problems"),
    );
  }
  return links;
}
