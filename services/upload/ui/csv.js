// Re-reading the start of a picked file with another encoding or delimiter, so the preview and
// the column names follow the user's choice before the import starts (the server reads the file
// again with the same choice when it starts, and names any column that no longer exists).

const DECODERS = { "utf-8": "utf-8", "utf-8-sig": "utf-8", cp1252: "windows-1252" };
const SAMPLE_BYTES = 256 * 1024;

function decoderFor(encoding, bytes) {
  if (encoding === "utf-16") {
    const bigEndian = bytes[0] === 0xfe && bytes[1] === 0xff;
    return new TextDecoder(bigEndian ? "utf-16be" : "utf-16le");
  }
  return new TextDecoder(DECODERS[encoding] || "utf-8");
}

/** Records of `text` split by `delimiter`, honouring quotes (embedded delimiters, newlines). */
export function parseRecords(text, delimiter, limit) {
  const records = [];
  let record = [];
  let cell = "";
  let quoted = false;
  let i = 0;
  const endRecord = () => {
    record.push(cell);
    cell = "";
    if (record.length > 1 || record[0].trim() !== "") records.push(record);
    record = [];
  };
  while (i < text.length && records.length < limit) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i += 1;
        } else {
          quoted = false;
        }
      } else {
        cell += ch;
      }
    } else if (ch === '"' && cell === "") {
      quoted = true;
    } else if (ch === delimiter) {
      record.push(cell);
      cell = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i += 1;
      endRecord();
    } else {
      cell += ch;
    }
    i += 1;
  }
  if (records.length < limit && (cell !== "" || record.length)) endRecord();
  return records;
}

/** Header names the way the server makes them: trimmed, blank -> "Column N", repeats -> "X (2)". */
export function columnNames(cells) {
  const names = cells.map((cell, i) => {
    let name = cell.replaceAll("\u0000", "").trim();
    if (i === 0) name = name.replace(/^\ufeff+/, "").trim();
    return name || `Column ${i + 1}`;
  });
  const taken = new Set(names);
  if (taken.size === names.length) return names;
  const used = new Set();
  return names.map((name) => {
    let unique = name;
    let k = 1;
    while (used.has(unique) || (k > 1 && taken.has(unique))) {
      k += 1;
      unique = `${name} (${k})`;
    }
    used.add(unique);
    return unique;
  });
}

/** {columns, preview} of a local file read with the given encoding and delimiter. */
export async function readPreview(file, encoding, delimiter, rows = 10) {
  const bytes = new Uint8Array(await file.slice(0, SAMPLE_BYTES).arrayBuffer());
  const text = decoderFor(encoding, bytes).decode(bytes);
  const records = parseRecords(text, delimiter, rows + 1);
  if (!records.length) return { columns: [], preview: [] };
  return { columns: columnNames(records[0]), preview: records.slice(1) };
}
