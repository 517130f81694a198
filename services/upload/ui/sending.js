// Safe sending: going live only after a confirmation that shows how many people it reaches now
// (POST /api/messages/reach), a preview as a chosen person (POST /api/messages/preview), a test
// send (POST /api/messages/test-send) and whether each channel can be used now (GET
// /api/channels). Used by the message form, the message page and the list.

import { api, query } from "./api.js";
import { append, clear, errorBox, field, fmtDate, fmtNumber, h, select, uid } from "./dom.js";
import { confirmDialog } from "./dialog.js";

/** A sentence from the API ("the mail server … refused the connection") as the UI shows it. */
export function sentence(text) {
  if (!text) return text;
  const first = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

const people = (n) => `${fmtNumber(n)} ${n === 1 ? "person" : "people"}`;

/** Whether each channel can be chosen now: {in_app: {available, problem}, email: …}. */
export async function channelStates() {
  const page = await api("GET", "/api/channels");
  return Object.fromEntries(page.data.map((c) => [c.channel, c]));
}

/**
 * Ask before a message goes live, with the number of people it reaches now, then `run()` (the
 * call that makes it live). `message` holds name, type, channel and, for a saved one, id and
 * activated_at; `audience` is the filter it goes live with. Resolves to what `run` resolved
 * to, or null when cancelled (or when the reach could not be counted: said in `report`).
 * The opener may be disabled while the reach is counted; it is enabled when the dialog opens.
 */
export async function confirmGoLive({ message, audience, run, parent, opener, report }) {
  let reach;
  let email = null;
  try {
    [reach, email] = await Promise.all([
      api("POST", "/api/messages/reach", { audience, message_id: message.id || null }),
      message.channel === "email" ? channelStates().then((c) => c.email) : null,
    ]);
  } catch (error) {
    report?.append(errorBox(error, "Who it would reach could not be counted, so it was not made live"));
    return null;
  }
  const manualAgain = message.type === "manual" && message.activated_at;
  const where = { in_app: "in their in-app inbox", email: "by email", webhook: "to the webhook URL" }[message.channel];
  const lines = [];
  if (manualAgain) {
    lines.push(
      h("p", {}, `“${message.name}” was sent when it first went live (${fmtDate(message.activated_at)}). A manual message is sent once: going live again sends it to nobody new; deliveries still waiting go out.`),
    );
  } else {
    lines.push(
      h(
        "p",
        { class: "reach-line" },
        "It goes to ",
        h("strong", { class: "reach-count", "data-testid": "reach-count" }, people(reach.reach)),
        where ? ` now (${where})` : " now",
        message.type === "auto" ? ", and to anyone who matches later — once each." : ", once.",
      ),
    );
    if (reach.already) {
      lines.push(h("p", { class: "hint" }, `${people(reach.matching)} match the audience; ${fmtNumber(reach.already)} of them have had it already and do not get it again.`));
    }
  }
  if (email && !email.available) {
    lines.push(h("div", { class: "alert warning", role: "note" }, h("p", {}, `The mail server cannot be used now: ${sentence(email.problem)} Emails will fail until it can; failed ones can be retried.`)));
  }
  const count = manualAgain ? 0 : reach.reach;
  // The dialog gives the focus back to its opener: it must be enabled by then.
  if (opener) opener.disabled = false;
  return confirmDialog({
    title: `Go live with “${message.name}”?`,
    body: lines,
    confirm: count ? `Send to ${people(count)}` : "Go live",
    busy: "Going live…",
    failure: `“${message.name}” is not live`,
    run,
    parent,
    opener,
  });
}

/**
 * "Preview as" a person: a search for people, the choice, and the subject and body rendered for
 * them. `texts()` gives {subject, body} as they are now; call `refresh()` when they change.
 * `onProblems(details)` gets the API's template problems (to show on their fields), or [];
 * without it (a saved message's page) the problems are listed in the preview.
 */
export function previewPanel({ texts, onProblems = null }) {
  const search = h("input", { type: "search", autocomplete: "off", placeholder: "Name or email" });
  const find = h("button", { type: "button", class: "secondary" }, "Find");
  const person = select([["", "Someone with no values"]], "");
  const found = h("p", { class: "hint", "aria-live": "polite" });
  const out = h("div", { class: "preview-out", "aria-live": "polite" });
  let sequence = 0;
  let timer = null;

  const fillPeople = async (q) => {
    const page = await api("GET", `/api/users${query({ q, limit: 20 })}`);
    const keep = person.value;
    clear(person).append(
      ...page.data.map((p) => h("option", { value: p.id }, p.name ? `${p.name}${p.email ? ` — ${p.email}` : ""}` : p.email || p.user_id || p.id)),
      h("option", { value: "" }, "Someone with no values"),
    );
    if (q) {
      found.textContent = page.data.length ? `${people(page.data.length)}${page.next_cursor ? " or more" : ""} found.` : `Nobody matches “${q}”.`;
    }
    if (!q && [...person.options].some((o) => o.value === keep)) person.value = keep;
    return page.data.length;
  };

  const refresh = (delay = 350) => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const mine = ++sequence;
      const { subject, body } = texts();
      try {
        const shown = await api("POST", "/api/messages/preview", { subject: subject || null, body: body || "", contact_id: person.value || null });
        if (mine !== sequence) return;
        onProblems?.([]);
        append(clear(out), [
          h("p", { class: "hint" }, shown.contact ? `As ${shown.contact.name || shown.contact.email || shown.contact.id}${shown.contact.name && shown.contact.email ? ` (${shown.contact.email})` : ""}:` : "As someone with no values:"),
          h(
            "div",
            { class: "preview-mail", "data-testid": "preview" },
            h("p", { class: "preview-subject" }, h("span", { class: "label" }, "Subject "), h("span", { "data-testid": "preview-subject" }, shown.subject || "—")),
            h("div", { class: "preview-body", "data-testid": "preview-body" }, shown.body || "—"),
          ),
          shown.missing.length
            ? h(
                "p",
                { class: "field-error warning" },
                `Empty for this person: ${shown.missing.join(", ")}. Add a fallback for people without a value, e.g. ${shown.missing[0].replace("}}", ' | fallback: "…"}}')}.`,
              )
            : null,
        ]);
      } catch (error) {
        if (mine !== sequence) return;
        const details = Array.isArray(error.details) ? error.details.filter((d) => d && d.field) : [];
        onProblems?.(details);
        clear(out).append(
          details.length && onProblems
            ? h("p", { class: "hint" }, "Fix the placeholders marked above to see the preview.")
            : errorBox(error, details.length ? "The saved subject or body has problems: edit the message to fix them" : "The preview could not be made"),
        );
      }
    }, delay);
  };

  const searchNow = async () => {
    try {
      const n = await fillPeople(search.value.trim());
      if (n) person.selectedIndex = 0;
      refresh(0);
    } catch (error) {
      clear(found).append(errorBox(error, "People could not be searched"));
    }
  };
  find.addEventListener("click", searchNow);
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault(); // never submits the message form
      searchNow();
    }
  });
  person.addEventListener("change", () => refresh(0));

  const titleId = uid("preview-title");
  const element = h(
    "section",
    { class: "card preview-panel", "aria-labelledby": titleId },
    h("h2", { id: titleId }, "Preview"),
    h("div", { class: "preview-pick" }, h("div", { class: "search-line" }, field("Find a person", search).wrap, find), field("Preview as", person).wrap),
    found,
    out,
  );
  fillPeople("")
    .then((n) => {
      if (n) person.selectedIndex = 0;
      refresh(0);
    })
    .catch(() => refresh(0));
  return { element, refresh, contactId: () => person.value || null };
}

/**
 * "Send a test": email to an address, or the webhook URL; in-app has none. `draft()` gives
 * {channel, subject, body, webhook_url, message_id}; `contactId()` the preview's person.
 */
export function testSendPanel({ draft, contactId, states }) {
  const to = h("input", { type: "email", autocomplete: "email", placeholder: "you@example.com" });
  const toField = field("Send a test to", to);
  const toHint = h("p", { class: "hint", id: uid("test-hint") }, "One email now, its subject marked [Test]; no delivery is recorded.");
  to.setAttribute("aria-describedby", toHint.id);
  const button = h("button", { type: "button", class: "secondary" }, "Send test");
  const result = h("div", { class: "test-result", "aria-live": "polite" });
  const note = h("p", { class: "hint" });
  const line = h("div", { class: "search-line" }, toField.wrap, button);

  const draw = () => {
    const { channel } = draft();
    clear(result);
    line.hidden = false;
    toField.wrap.hidden = toHint.hidden = channel !== "email";
    button.textContent = channel === "webhook" ? "Send a test to the webhook" : "Send test";
    note.textContent =
      channel === "in_app"
        ? "In-app messages go to an inbox, not an address: the preview above is what people see."
        : channel === "webhook"
          ? "One signed POST now, marked \"test\": true; no delivery is recorded."
          : "";
    if (channel === "in_app") line.hidden = true;
    const state = states()?.[channel];
    button.disabled = Boolean(state && !state.available);
    if (state && !state.available) note.textContent = `A test cannot be sent: ${sentence(state.problem)}`;
  };

  button.addEventListener("click", async () => {
    const d = draft();
    clear(result);
    to.removeAttribute("aria-invalid");
    if (d.channel === "email" && !to.value.trim()) {
      to.setAttribute("aria-invalid", "true");
      result.append(h("p", { class: "field-error" }, "Write the address to send the test to."));
      to.focus();
      return;
    }
    button.disabled = true;
    const label = button.textContent;
    button.textContent = "Sending…";
    try {
      const answer = await api("POST", "/api/messages/test-send", {
        channel: d.channel,
        subject: d.subject || null,
        body: d.body || "",
        to: d.channel === "email" ? to.value.trim() : null,
        webhook_url: d.channel === "webhook" ? d.webhook_url : null,
        contact_id: contactId(),
        message_id: d.message_id || null,
      });
      result.append(
        h("div", { class: `alert ${answer.sent ? "info" : "error"}`, role: answer.sent ? "status" : "alert" }, h("p", {}, answer.sent ? sentence(answer.detail) : `Not sent: ${sentence(answer.detail)}`)),
      );
    } catch (error) {
      result.append(errorBox(error, "The test was not sent"));
    } finally {
      button.textContent = label;
      button.disabled = false;
    }
  });

  const element = h("section", { class: "card test-panel" }, h("h2", {}, "Send a test"), note, line, toHint, result);
  draw();
  return { element, redraw: draw };
}
