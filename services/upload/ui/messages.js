// Messages: the list (current or archived; go live / pause / retry), and one message's page with
// its status, actions (go live after a confirmation, pause, retry failed deliveries, edit,
// duplicate, archive or restore), preview and test send, versions and deliveries. The form is
// message_form.js; the confirmation, preview and test send are sending.js.

import { api, query } from "./api.js";
import { append, clear, errorBox, fmtDate, fmtNumber, h, notice, table } from "./dom.js";
import { describe } from "./rules.js";
import { channelStates, confirmGoLive, previewPanel, sentence, testSendPanel } from "./sending.js";

export { messageForm } from "./message_form.js";

export function channelName(channel) {
  return { in_app: "in-app", email: "email", webhook: "webhook" }[channel] || channel;
}

const SHORT = { draft: "Draft", live: "Live", paused: "Paused", sending: "Sending", sent: "Sent", failed: "Failed", archived: "Archived" };

/** The status as a badge ("Failed") and, beside it, the rest of its text ("5 of 5 deliveries failed"). */
function statusBadge(message, { detail = true } = {}) {
  const short = SHORT[message.status] || message.status;
  const text = message.status_text || "";
  const rest = text.startsWith(short) ? text.slice(short.length).replace(/^\s*—\s*/, "").trim() : text;
  return h(
    "span",
    { class: "status-line" },
    h("span", { class: `badge state-${message.status}` }, short),
    detail && rest ? h("span", { class: "status-detail" }, rest) : null,
  );
}

/** A live manual message is sent once: after that, pausing or going live changes nothing. */
function sentOnce(message) {
  return message.type === "manual" && ["sent", "failed", "sending"].includes(message.status);
}

const path = (message) => `/api/messages/${encodeURIComponent(message.id)}`;

/**
 * The button that pauses a live message, or makes a paused one live after the confirmation
 * with its reach; `done(updated)` redraws whatever shows the message. None for a manual message
 * already sent, or an archived one.
 */
function stateButton(message, done, report, parent) {
  if (message.state === "archived" || sentOnce(message)) return null;
  const live = message.state === "live";
  const button = h(
    "button",
    {
      type: "button",
      class: live ? "secondary" : "",
      "aria-label": `${live ? "Pause" : "Go live with"} “${message.name}”`,
      onclick: async () => {
        clear(report);
        button.disabled = true;
        try {
          if (live) {
            done(await api("PATCH", path(message), { state: "paused" }));
            return;
          }
          const updated = await confirmGoLive({
            message,
            audience: message.audience,
            run: () => api("PATCH", path(message), { state: "live" }),
            parent,
            opener: button,
            report,
          });
          if (updated) done(updated);
        } catch (error) {
          report.append(errorBox(error, `“${message.name}” could not be ${live ? "paused" : "turned live"}`));
        } finally {
          if (button.isConnected) button.disabled = false;
        }
      },
    },
    live ? "Pause" : "Go live",
  );
  return button;
}

/** "Retry N failed" when deliveries failed: they are sent again, each still at most once. */
function retryButton(message, done, report) {
  if (!message.deliveries?.failed || message.state === "archived") return null;
  const n = message.deliveries.failed;
  return reportButton(`Retry ${fmtNumber(n)} failed`, {
    ariaLabel: `Retry the ${fmtNumber(n)} failed ${n === 1 ? "delivery" : "deliveries"} of “${message.name}”`,
    report,
    failure: "The failed deliveries were not retried",
    work: async () => {
      const { requeued } = await api("POST", `${path(message)}/retry`);
      report.append(
        notice(
          requeued
            ? `${fmtNumber(requeued)} ${requeued === 1 ? "delivery is" : "deliveries are"} being tried again${message.state === "live" ? "" : " (when the message goes live)"}.`
            : "No failed deliveries were left to retry.",
        ),
      );
      done(await api("GET", path(message)));
    },
  });
}

/**
 * A secondary button whose `work` reports to the page's `report` area: what it did, or why it
 * failed (`failure`), after which it can be pressed again.
 */
function reportButton(label, { ariaLabel = null, report, failure, work }) {
  const button = h(
    "button",
    {
      type: "button",
      class: "secondary",
      "aria-label": ariaLabel,
      onclick: async () => {
        clear(report);
        button.disabled = true;
        try {
          await work();
        } catch (error) {
          report.append(errorBox(error, failure));
          button.disabled = false;
        }
      },
    },
    label,
  );
  return button;
}

export async function messageList(ctx) {
  const archived = ctx.query.get("archived") === "1";
  const report = h("div", { "aria-live": "polite" });
  const slot = h("div");
  const views = h(
    "nav",
    { class: "view-switch", "aria-label": "Which messages" },
    h("a", { href: "#/messages", "aria-current": archived ? null : "page" }, "Current"),
    h("a", { href: "#/messages?archived=1", "aria-current": archived ? "page" : null }, "Archived"),
  );
  ctx.main.append(
    h("div", { class: "page-head" }, h("h1", {}, "Messages"), h("a", { class: "button", href: "#/messages/new" }, "New message")),
    views,
    report,
    slot,
  );
  const page = await api("GET", `/api/messages${query({ limit: 200, archived: archived ? "true" : null })}`);
  const messages = page.data;
  const draw = (focus) => {
    clear(slot);
    if (!messages.length) {
      slot.append(
        archived
          ? h("p", {}, "No archived messages. ", h("a", { href: "#/messages" }, "Back to the current ones"), ".")
          : h("p", {}, "No messages yet. ", h("a", { href: "#/messages/new" }, "Create one"), "."),
      );
      return;
    }
    slot.append(
      table(
        ["Name", "Type", "Channel", "Audience", "Status", "Created", "Actions"],
        messages.map((m, i) => {
          const redraw = (updated) => {
            messages[i] = updated;
            draw(i);
          };
          const actions = [stateButton(m, redraw, report, ctx.main), retryButton(m, redraw, report)].filter(Boolean);
          return [
            h("a", { href: `#/messages/${encodeURIComponent(m.id)}` }, m.name),
            m.type === "auto" ? "Auto" : "Manual",
            channelName(m.channel),
            describe(m.audience),
            statusBadge(m),
            fmtDate(m.created_at),
            actions.length ? h("div", { class: "row-actions" }, actions) : archived ? h("a", { href: `#/messages/${encodeURIComponent(m.id)}` }, "Open to restore") : "—",
          ];
        }),
        { caption: archived ? "Archived messages, newest first" : "Messages, newest first" },
      ),
    );
    if (focus !== undefined) slot.querySelectorAll("tbody tr")[focus]?.querySelector("button")?.focus();
  };
  draw();
}

export async function messagePage(ctx) {
  const [id] = ctx.params;
  let message = await api("GET", `/api/messages/${encodeURIComponent(id)}`);
  const saved = ctx.query.get("saved");
  const head = h("div", { class: "page-head" });
  const report = h("div", { "aria-live": "polite" });
  const details = h("section", { class: "card" });
  const versions = h("div");
  const deliveries = h("div", { "aria-live": "polite" });
  let states = null;
  const preview = previewPanel({ texts: () => ({ subject: message.subject || "", body: message.body || "" }) });
  const tests = testSendPanel({
    draft: () => ({ ...message, message_id: message.id }),
    contactId: preview.contactId,
    states: () => states,
  });
  channelStates()
    .then((found) => {
      states = found;
      tests.redraw();
    })
    .catch(() => {});
  append(ctx.main, [
    h("p", { class: "crumbs" }, h("a", { href: "#/messages" }, "Messages")),
    head,
    saved ? notice(`Saved: this is version ${message.version}.`) : null,
    report,
    details,
    h("div", { class: "message-side wide" }, preview.element, tests.element),
    versions,
    h(
      "section",
      { class: "card" },
      h("div", { class: "page-head" }, h("h2", {}, "Deliveries"), h("button", { type: "button", class: "secondary", onclick: () => loadDeliveries() }, "Refresh")),
      deliveries,
    ),
  ]);

  const redraw = (updated, focusLabel) => {
    message = updated;
    drawHead();
    const again = focusLabel && [...head.querySelectorAll("button")].find((b) => b.textContent === focusLabel);
    (again || head.querySelector("button") || head.querySelector("h1"))?.focus();
    setTimeout(loadDeliveries, 800);
  };

  const archiveButton = () => {
    const archived = message.state === "archived";
    return reportButton(archived ? "Restore" : "Archive", {
      report,
      failure: archived ? "It was not restored" : "It was not archived",
      work: async () => {
        const updated = await api("PATCH", `/api/messages/${encodeURIComponent(message.id)}`, { state: archived ? "paused" : "archived" });
        report.append(notice(archived ? `“${message.name}” is restored, paused: go live when you are ready.` : `“${message.name}” is archived: it is no longer sent, and is listed under Archived.`));
        redraw(updated, archived ? "Archive" : "Restore");
      },
    });
  };

  const duplicateButton = () =>
    reportButton("Duplicate", {
      report,
      failure: "It was not duplicated",
      work: async () => {
        const copy = await api("POST", `/api/messages/${encodeURIComponent(message.id)}/duplicate`);
        ctx.navigate(`/messages/${encodeURIComponent(copy.id)}/edit`);
      },
    });

  const drawHead = () => {
    const archived = message.state === "archived";
    clear(head).append(
      h("h1", {}, message.name),
      h(
        "div",
        { class: "head-actions" },
        statusBadge(message),
        stateButton(message, (updated) => redraw(updated), report, ctx.main),
        retryButton(message, (updated) => redraw(updated), report),
        archived ? null : h("a", { class: "button secondary", href: `#/messages/${encodeURIComponent(message.id)}/edit` }, "Edit"),
        duplicateButton(),
        archiveButton(),
      ),
    );
    clear(details).append(
      h(
        "dl",
        { class: "fields" },
        [
          ["Status", message.status_text],
          ["Type", message.type === "auto" ? "Auto" : "Manual"],
          ["Channel", channelName(message.channel)],
          ["Subject", message.subject || "—"],
          ["Body", h("span", { class: "body" }, message.body || "—")],
          message.channel === "webhook" ? ["Webhook URL", message.webhook_url] : null,
          ["Audience", describe(message.audience)],
          ["Version", `${message.version}${message.version > 1 ? ` (edited ${fmtDate(message.updated_at)})` : ""}`],
          ["First live", fmtDate(message.activated_at)],
          ["Created", fmtDate(message.created_at)],
        ]
          .filter(Boolean)
          .map(([term, value]) => h("div", {}, h("dt", {}, term), h("dd", {}, value))),
      ),
    );
    preview.refresh(0);
    tests.redraw();
    loadVersions();
  };

  const loadVersions = async () => {
    clear(versions);
    if (message.version < 2) return;
    try {
      const page = await api("GET", `/api/messages/${encodeURIComponent(message.id)}/versions`);
      versions.append(
        h(
          "section",
          { class: "card" },
          h("h2", {}, "Versions"),
          h("p", { class: "hint" }, "What was delivered stays with the version it was sent with."),
          table(
            ["Version", "Subject", "Body", "Audience", "Saved", "Delivered", "Failed"],
            page.data.map((v) => [
              v.current ? `${v.version} (current)` : String(v.version),
              v.subject || "—",
              h("span", { class: "body" }, v.body || "—"),
              describe(v.audience),
              fmtDate(v.made_at),
              fmtNumber(v.delivered),
              fmtNumber(v.failed),
            ]),
            { caption: `${page.data.length} versions, newest first` },
          ),
        ),
      );
    } catch (error) {
      versions.append(errorBox(error, "The versions could not be loaded"));
    }
  };

  const loadDeliveries = async () => {
    try {
      const page = await api("GET", `/api/messages/${encodeURIComponent(message.id)}/deliveries${query({ limit: 200 })}`);
      clear(deliveries);
      if (!page.data.length) {
        deliveries.append(h("p", { class: "hint" }, message.state === "live" ? "No deliveries yet." : `No deliveries: the message is ${message.state === "archived" ? "archived" : message.activated_at ? "paused" : "a draft"}.`));
        return;
      }
      deliveries.append(
        table(
          ["Person", "Status", "Reason", "Delivered", "Attempts", "Version"],
          page.data.map((d) => [
            h("a", { href: `#/people/${encodeURIComponent(d.contact_id)}` }, d.email || d.user_id || d.contact_id),
            h("span", { class: `badge delivery-${d.status}` }, d.status),
            d.reason ? (d.status === "pending" ? `Last attempt: ${sentence(d.reason)}` : sentence(d.reason)) : "—",
            fmtDate(d.delivered_at),
            d.attempts ? fmtNumber(d.attempts) : "—", // no "0" beside a delivery made in the inbox
            String(d.version),
          ]),
          { caption: `${page.data.length}${page.next_cursor ? "+" : ""} ${page.data.length === 1 ? "delivery" : "deliveries"}` },
        ),
      );
    } catch (error) {
      clear(deliveries).append(errorBox(error, "Deliveries could not be loaded"));
    }
  };

  drawHead();
  await loadDeliveries();
}
