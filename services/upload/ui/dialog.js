// A confirmation in the page, for what cannot be taken back (an undo, a merge): a modal <dialog>
// (showModal), so the focus moves into it, the page behind it is inert, Escape or the cancel
// button closes it, and the focus then goes back to the control that opened it.

import { clear, errorBox, h, uid } from "./dom.js";

/**
 * Ask before `run()` does something. `body` (nodes) says what will happen; `confirm` labels the
 * button that does it (`busy` while it runs), `cancel` the one that does not. The dialog lives
 * in `parent` (the view: it goes when the page changes). A rejection of `run` is shown in the
 * dialog under `failure`, which stays open to try again or cancel.
 * Resolves to what `run` resolved to, or null when cancelled.
 */
export function confirmDialog({ title, body, confirm, cancel = "Cancel", busy, failure, danger = false, run, parent, opener }) {
  return new Promise((resolve) => {
    const titleId = uid("dialog-title");
    const bodyId = uid("dialog-body");
    const heading = h("h2", { id: titleId, tabindex: "-1" }, title);
    const problem = h("div", { "aria-live": "assertive" });
    const no = h("button", { type: "button", class: "secondary" }, cancel);
    const yes = h("button", { type: "button", class: danger ? "danger" : null }, confirm);
    const dialog = h(
      "dialog",
      { class: "confirm", "aria-labelledby": titleId, "aria-describedby": bodyId },
      heading,
      h("div", { class: "dialog-body", id: bodyId }, body),
      problem,
      h("div", { class: "actions" }, no, yes),
    );
    let running = false;
    let outcome = null;
    const returnFocus = opener || document.activeElement;

    // Escape is the dialog's "cancel" event; not while the action runs (its answer must be seen).
    dialog.addEventListener("cancel", (event) => {
      if (running) event.preventDefault();
    });
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (returnFocus && returnFocus.isConnected) returnFocus.focus();
      resolve(outcome);
    });
    no.addEventListener("click", () => dialog.close());
    yes.addEventListener("click", async () => {
      running = true;
      yes.disabled = no.disabled = true;
      const label = yes.textContent;
      if (busy) yes.textContent = busy;
      clear(problem);
      try {
        outcome = await run();
        running = false;
        dialog.close();
      } catch (error) {
        running = false;
        yes.textContent = label;
        yes.disabled = no.disabled = false;
        problem.append(errorBox(error, failure));
        no.focus();
      }
    });
    (parent || document.body).append(dialog);
    dialog.showModal();
    // The title first: a screen reader reads it with the description, then Tab reaches the buttons.
    heading.focus();
  });
}
