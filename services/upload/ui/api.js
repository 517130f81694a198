// The public HTTP API. The web UI signs in once: the workspace token is exchanged for a session
// cookie (HttpOnly, so no script reads it; it lasts across tabs until the browser closes), and
// every request that changes something carries the session's CSRF value in X-Usher-CSRF. The
// token itself is kept only in this page's memory, for the Connect page's snippets.

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export const session = {
  workspace: null, // {id, name} while signed in
  csrf: null,
  token: null, // the token typed in this page, if any (never stored)
  get signedIn() {
    return this.workspace !== null;
  },
  set(answer, token = null) {
    this.workspace = answer.workspace;
    this.csrf = answer.csrf_token;
    if (token) this.token = token;
  },
  /** The session the browser's cookie holds (another tab's sign-in), if any. */
  async restore() {
    try {
      this.set(await api("GET", "/api/session"));
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      this.clear();
    }
  },
  async signIn(token) {
    this.set(await api("POST", "/api/session", { token }), token);
  },
  async signOut() {
    try {
      await api("DELETE", "/api/session");
    } finally {
      this.clear();
    }
  },
  clear() {
    this.workspace = null;
    this.csrf = null;
    this.token = null;
  },
};

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** 404 or 405 from a route this server does not have (remote sources, events, …). */
export function isUnavailable(error) {
  return error instanceof ApiError && (error.status === 404 || error.status === 405);
}

/** "Events are not available on this server yet." for a 404/405 from a route not served yet. */
export function unavailable(what) {
  return `${what} not available on this server yet.`;
}

function csrfHeaders(method) {
  return UNSAFE.has(method) && session.csrf ? { "X-Usher-CSRF": session.csrf } : {};
}

async function toError(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: fall through to a message built from the status
  }
  const error = body && body.error;
  if (error && error.message) {
    return new ApiError(response.status, error.code, error.message, error.details);
  }
  const text = response.statusText || "error";
  return new ApiError(response.status, "http", `The server answered ${response.status} ${text}.`);
}

function unauthorized(error) {
  if (error.status === 401) {
    window.dispatchEvent(new CustomEvent("usher:unauthorized", { detail: error }));
  }
  return error;
}

/** Call the API; resolves to the JSON body, rejects with an ApiError. */
export async function api(method, path, body) {
  const headers = csrfHeaders(method);
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, "network", "The server could not be reached. Check your connection and try again.");
  }
  if (!response.ok) throw unauthorized(await toError(response));
  if (response.status === 204) return null;
  return response.json();
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/**
 * Upload a file as multipart `file` (+ `source`) with XMLHttpRequest, whose upload.onprogress
 * reports the bytes sent. Resolves to the created import.
 */
export function uploadFile(file, source, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/imports");
    for (const [key, value] of Object.entries(csrfHeaders("POST"))) xhr.setRequestHeader(key, value);
    xhr.responseType = "json";
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      const body = xhr.response;
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve(body);
        return;
      }
      const error = body && body.error;
      reject(
        unauthorized(
          error
            ? new ApiError(xhr.status, error.code, error.message, error.details)
            : new ApiError(xhr.status, "http", `The upload failed: the server answered ${xhr.status}.`),
        ),
      );
    };
    xhr.onerror = () => reject(new ApiError(0, "network", "The upload was interrupted: the server could not be reached."));
    xhr.onabort = () => reject(new ApiError(0, "aborted", "The upload was cancelled."));
    const form = new FormData();
    if (source) form.append("source", source);
    form.append("file", file, file.name);
    xhr.send(form);
  });
}

/**
 * Download a file the API serves (fetched, then handed to the browser as a Blob to save, so a
 * failure can be shown beside the button instead of as a page of JSON).
 */
export async function download(path, fallbackName) {
  let response;
  try {
    response = await fetch(path);
  } catch {
    throw new ApiError(0, "network", "The download failed: the server could not be reached.");
  }
  if (!response.ok) throw unauthorized(await toError(response));
  const disposition = response.headers.get("Content-Disposition") || "";
  const utf8 = /filename\*=UTF-8''([^;]+)/i.exec(disposition); // any name, RFC 6266
  const plain = /filename="?([^";]+)"?/i.exec(disposition);
  const match = utf8 ? [utf8[0], decodeURIComponent(utf8[1])] : plain;
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = match ? match[1] : fallbackName;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
