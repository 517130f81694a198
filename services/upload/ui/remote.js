// The remote sources' step: MailChimp's and Mixpanel's credential forms, and the request that
// starts such an import. Credentials live in the wizard's memory only until the import starts.

import { api } from "./api.js";
import { clear, errorBox, field, h, select } from "./dom.js";

export const REMOTE_NAMES = { mailchimp: "MailChimp", mixpanel: "Mixpanel" };

export function remoteForm(draft, body, { header, back, next }) {
  const r = draft.remote;
  const bind = (key, el) => {
    el.value = r[key] ?? "";
    el.addEventListener("input", () => (r[key] = el.value));
    el.addEventListener("change", () => (r[key] = el.value));
    return el;
  };
  const text = (key, props = {}) => bind(key, h("input", { type: "text", autocomplete: "off", spellcheck: "false", ...props }));
  const secret = (key) => bind(key, h("input", { type: "password", autocomplete: "off" }));
  const result = h("div", { "aria-live": "polite" });
  const fields =
    draft.method === "mailchimp"
      ? [
          field("API key", secret("api_key"), { required: true, hint: "Account → Extras → API keys, e.g. 0123…-us21" }),
          field("Audience (list) ID", text("list_id"), { required: true, hint: "Audience → Settings → Audience name and defaults" }),
          field("Members", bind("status", select([["subscribed", "Subscribed members only"], ["", "All members"]], r.status))),
        ]
      : [
          field("Project ID", text("project_id", { inputmode: "numeric" }), { required: true }),
          field("Service account username", text("service_account_username"), { required: true }),
          field("Service account secret", secret("service_account_secret"), { required: true }),
          field("Data residency", bind("region", select([["us", "US"], ["eu", "EU"], ["in", "India"]], r.region))),
        ];
  const advanced = h(
    "details",
    { open: Boolean(r.base_url) },
    h("summary", {}, "Advanced"),
    field("API base URL", text("base_url", { type: "url", placeholder: draft.method === "mailchimp" ? "https://us21.api.mailchimp.com" : "https://mixpanel.com" }), {
      hint: "Only for a proxy or a test server; replaces the vendor's address.",
    }).wrap,
  );
  body.append(
    h("h2", { tabindex: "-1" }, `Connect to ${REMOTE_NAMES[draft.method]}`),
    header,
    h(
      "form",
      {
        novalidate: true,
        onsubmit: (event) => {
          event.preventDefault();
          clear(result);
          const missing = fields.filter((f) => f.input.required && !f.input.value.trim());
          if (missing.length) {
            result.append(errorBox({ message: "Fill in the required fields.", details: missing.map((f) => f.wrap.querySelector("label").textContent) }));
            missing[0].input.focus();
            return;
          }
          next();
        },
      },
      h("p", { class: "hint" }, "Credentials are sent once to start the import and kept encrypted with it; this page does not store them."),
      fields.map((f) => f.wrap),
      advanced,
      result,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "secondary", onclick: back }, "Back"),
        h("button", { type: "submit" }, "Continue"),
      ),
    ),
  );
}

export async function startRemote(draft) {
  const r = draft.remote;
  const common = { kind: draft.kind, tag: draft.tag.trim() || null, trigger_messages: draft.trigger };
  const base = r.base_url && r.base_url.trim() ? { base_url: r.base_url.trim() } : {};
  if (draft.method === "mailchimp") {
    return api("POST", "/api/imports/mailchimp", {
      api_key: r.api_key.trim(),
      list_id: r.list_id.trim(),
      status: r.status || null, // null: members of every status
      ...base,
      ...common,
    });
  }
  return api("POST", "/api/imports/mixpanel", {
    project_id: r.project_id.trim(),
    service_account_username: r.service_account_username.trim(),
    service_account_secret: r.service_account_secret,
    region: r.region,
    ...base,
    ...common,
  });
}
