import { crc32, deflateRawSync } from 'node:zlib';
import { GatehouseError } from '../kit/errors.ts';
import { ReportErrors, cellOf, checkDate, reportFileName } from './table.ts';
import type { Cell, Report } from './table.ts';

/**
 * XLSX export of a report: a minimal Office Open XML workbook written by hand (no dependency), deterministic (the
 * same report gives the same bytes: every ZIP entry is dated 1980-01-01 00:00).
 *
 * - Sheet 1, named after the title, holds the table: a bold header row, frozen, with an auto filter over it;
 *   column widths from `ReportColumn.width`.
 * - Sheet 2, "About", holds the `meta` pairs, one per row (name in bold, value next to it).
 *
 * Cells: strings are inline strings (never formulas, so no injection guard is needed), stripped of characters
 * XML 1.0 cannot carry and truncated to Excel's 32,767 characters (ending in "…"); an empty string is no cell.
 * Numbers are numbers (NaN and ±Infinity, which a workbook cannot hold, are written as text). Booleans are
 * booleans. Dates are Excel serial numbers in UTC with a date format (`yyyy-mm-dd` for midnight UTC,
 * `yyyy-mm-dd hh:mm:ss` otherwise); dates Excel cannot show (before 1900-03-01 or after 9999-12-31) are written as
 * ISO 8601 text. `null` is no cell.
 */
export function toXlsx(report: Report): Buffer {
  const columns = report.columns.length;
  if (columns > MAX_COLUMNS)
    throw tooLarge(`${columns} columns (an Excel worksheet holds at most ${MAX_COLUMNS})`);
  if (report.rows.length + 1 > MAX_ROWS)
    throw tooLarge(
      `${report.rows.length} rows (an Excel worksheet holds at most ${MAX_ROWS - 1} below the header)`,
    );

  const names = sheetNames(report.title);
  const lastRow = report.rows.length + 1;
  const filterRef = columns > 0 ? `$A$1:$${columnLetter(columns - 1)}$${lastRow}` : undefined;
  return zip([
    { name: '[Content_Types].xml', data: utf8(CONTENT_TYPES) },
    { name: '_rels/.rels', data: utf8(ROOT_RELS) },
    { name: 'xl/workbook.xml', data: utf8(workbookXml(names, filterRef)) },
    { name: 'xl/_rels/workbook.xml.rels', data: utf8(WORKBOOK_RELS) },
    { name: 'xl/styles.xml', data: utf8(STYLES) },
    { name: 'xl/worksheets/sheet1.xml', data: dataSheetXml(report) },
    { name: 'xl/worksheets/sheet2.xml', data: aboutSheetXml(report.meta) },
  ]);
}

/** The XLSX file name of a report on a date: `findings-2026-11-22.xlsx` (see `reportFileName`). */
export function xlsxFileName(report: Pick<Report, 'title'>, date: Date): string {
  return reportFileName(report, date, 'xlsx');
}

/** The name of the sheet that holds the `meta` pairs. */
export const ABOUT_SHEET = 'About';

/**
 * The data sheet's name for a title: characters Excel forbids (`[]:*?/\`, and line breaks and tabs) replaced by
 * `_`, leading and trailing apostrophes and spaces dropped, at most 31 characters; "Report" when nothing is left,
 * and a suffix when the name is Excel's reserved "History" or the "About" sheet's.
 */
export function sheetName(title: string): string {
  let name = truncate(
    stripIllegalXml(title)
      .replace(/[[\]:*?/\\\t\r\n]/g, '_')
      .replace(/^[\s']+/, ''),
    MAX_SHEET_NAME,
  ).replace(/[\s']+$/, '');
  if (name === '') name = 'Report';
  const lower = name.toLowerCase();
  if (lower === ABOUT_SHEET.toLowerCase() || lower === 'history') name = `${name} data`;
  return name;
}

/** The column letters of a zero-based column index: 0 → A, 25 → Z, 26 → AA, 16383 → XFD. */
export function columnLetter(index: number): string {
  if (!Number.isInteger(index) || index < 0) throw new RangeError(`column index ${index}`);
  let letters = '';
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) {
    letters = String.fromCharCode(65 + ((n - 1) % 26)) + letters;
  }
  return letters;
}

/** Excel's serial date of a time (1900 date system, UTC): days since 1899-12-30, with the time as a fraction. */
export function excelSerial(date: Date): number {
  return (date.getTime() - EXCEL_EPOCH) / DAY_MS;
}

/** The most characters Excel keeps in a cell. */
export const MAX_CELL_TEXT = 32_767;
const MAX_SHEET_NAME = 31;
const MAX_COLUMNS = 16_384;
const MAX_ROWS = 1_048_576;
const DAY_MS = 86_400_000;
const EXCEL_EPOCH = Date.UTC(1899, 11, 30);
/** Serials below 61 (before 1900-03-01) are wrong in Excel, which counts a 29 February 1900. */
const FIRST_DATE = Date.UTC(1900, 2, 1);
const LAST_DATE = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Style indexes in `STYLES` (`cellXfs`). */
const STYLE_BOLD = 1;
const STYLE_DATETIME = 2;
const STYLE_DATE = 3;

function tooLarge(what: string): GatehouseError {
  return new GatehouseError(ReportErrors.tooLarge, `The report is too large for XLSX: ${what}.`, {
    status: 413,
  });
}

// ---- sheets -------------------------------------------------------------------------------------------------

function sheetNames(title: string): [string, string] {
  return [sheetName(title), ABOUT_SHEET];
}

function dataSheetXml(report: Report): Buffer {
  const out = new ChunkWriter();
  const columns = report.columns;
  const lastCol = columns.length > 0 ? columnLetter(columns.length - 1) : undefined;
  const lastRow = report.rows.length + 1;
  const letters = columns.map((_, i) => columnLetter(i));
  out.write(XML_HEAD);
  out.write(`<worksheet xmlns="${NS_MAIN}">`);
  out.write(`<dimension ref="${lastCol ? `A1:${lastCol}${lastRow}` : 'A1'}"/>`);
  out.write('<sheetViews><sheetView tabSelected="1" workbookViewId="0">');
  if (lastCol) out.write('<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>');
  out.write('</sheetView></sheetViews>');
  out.write('<sheetFormatPr defaultRowHeight="15"/>');
  const widths = columns.flatMap((c, i) => {
    const w = c.width;
    if (w === undefined || !Number.isFinite(w) || w <= 0) return [];
    return [`<col min="${i + 1}" max="${i + 1}" width="${Math.min(w, 255)}" customWidth="1"/>`];
  });
  if (widths.length) out.write(`<cols>${widths.join('')}</cols>`);
  out.write('<sheetData>');
  if (lastCol) {
    out.write('<row r="1">');
    columns.forEach((c, i) => out.write(stringCell(`${letters[i]}1`, c.header, STYLE_BOLD)));
    out.write('</row>');
  }
  report.rows.forEach((row, r) => {
    const n = r + 2;
    out.write(`<row r="${n}">`);
    columns.forEach((c, i) => out.write(cellXml(`${letters[i]}${n}`, cellOf(row, c.key), r, c.key)));
    out.write('</row>');
  });
  out.write('</sheetData>');
  if (lastCol) out.write(`<autoFilter ref="A1:${lastCol}${lastRow}"/>`);
  out.write('</worksheet>');
  return out.finish();
}

function aboutSheetXml(meta: [string, string][]): Buffer {
  const out = new ChunkWriter();
  out.write(XML_HEAD);
  out.write(`<worksheet xmlns="${NS_MAIN}">`);
  out.write(`<dimension ref="${meta.length ? `A1:B${meta.length}` : 'A1'}"/>`);
  out.write('<sheetViews><sheetView workbookViewId="0"/></sheetViews>');
  out.write('<sheetFormatPr defaultRowHeight="15"/>');
  const width = (texts: string[]) => Math.min(100, Math.max(10, ...texts.map((t) => t.length + 2)));
  out.write(
    `<cols><col min="1" max="1" width="${width(meta.map((m) => m[0]))}" customWidth="1"/>` +
      `<col min="2" max="2" width="${width(meta.map((m) => m[1]))}" customWidth="1"/></cols>`,
  );
  out.write('<sheetData>');
  meta.forEach(([name, value], i) => {
    const n = i + 1;
    out.write(`<row r="${n}">${stringCell(`A${n}`, name, STYLE_BOLD)}${stringCell(`B${n}`, value)}</row>`);
  });
  out.write('</sheetData></worksheet>');
  return out.finish();
}

function cellXml(ref: string, value: Cell, rowIndex: number, key: string): string {
  if (value === null) return '';
  if (typeof value === 'string') return stringCell(ref, value);
  if (typeof value === 'number')
    return Number.isFinite(value) ? `<c r="${ref}"><v>${value}</v></c>` : stringCell(ref, String(value));
  if (typeof value === 'boolean') return `<c r="${ref}" t="b"><v>${value ? 1 : 0}</v></c>`;
  const t = checkDate(value, `row ${rowIndex + 1}, column "${key}"`);
  if (t < FIRST_DATE || t > LAST_DATE) return stringCell(ref, value.toISOString());
  const style = t % DAY_MS === 0 ? STYLE_DATE : STYLE_DATETIME;
  return `<c r="${ref}" s="${style}"><v>${excelSerial(value)}</v></c>`;
}

function stringCell(ref: string, value: string, style?: number): string {
  const text = truncate(stripIllegalXml(value), MAX_CELL_TEXT, '…');
  if (text === '') return '';
  const s = style === undefined ? '' : ` s="${style}"`;
  return `<c r="${ref}"${s} t="inlineStr"><is><t xml:space="preserve">${xmlText(text)}</t></is></c>`;
}

// ---- text ---------------------------------------------------------------------------------------------------

/** Characters XML 1.0 cannot carry: controls other than TAB, LF and CR; U+FFFE, U+FFFF; lone surrogates. */
const ILLEGAL_XML = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

function stripIllegalXml(s: string): string {
  return s.replace(ILLEGAL_XML, '');
}

/** At most `max` UTF-16 units (Excel's unit), never splitting a surrogate pair; `ellipsis` counts towards `max`. */
function truncate(s: string, max: number, ellipsis = ''): string {
  if (s.length <= max) return s;
  let cut = max - ellipsis.length;
  const last = s.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut--;
  return s.slice(0, cut) + ellipsis;
}

/**
 * Escaped for an XML text node or attribute. Two more escapes keep the value exact when read back: CR as `&#13;`
 * (an XML parser turns a literal CR into LF), and the `_` of a literal `_xHHHH_` as `_x005F_` (Excel reads
 * `_xHHHH_` in a string as the character U+HHHH).
 */
function xmlText(s: string): string {
  return s.replace(/_(?=x[0-9A-Fa-f]{4}_)/g, '_x005F_').replace(/[&<>"'\r]/g, (c) => XML_ESCAPES[c] ?? c);
}

const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\r': '&#13;',
};

function utf8(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

/** Collects XML in UTF-8 chunks, so that a large sheet is never one JavaScript string (V8 caps their length). */
class ChunkWriter {
  private chunks: Buffer[] = [];
  private pending: string[] = [];
  private pendingLength = 0;

  write(s: string): void {
    if (s === '') return;
    this.pending.push(s);
    this.pendingLength += s.length;
    if (this.pendingLength >= 1 << 20) this.flush();
  }

  finish(): Buffer {
    this.flush();
    return Buffer.concat(this.chunks);
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    this.chunks.push(Buffer.from(this.pending.join(''), 'utf8'));
    this.pending = [];
    this.pendingLength = 0;
  }
}

// ---- package parts ------------------------------------------------------------------------------------------

const XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';
const NS_MAIN = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
const NS_REL = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
const NS_PKG_REL = 'http://schemas.openxmlformats.org/package/2006/relationships';
const CT = 'application/vnd.openxmlformats-officedocument.spreadsheetml';

const CONTENT_TYPES =
  `${XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
  '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
  '<Default Extension="xml" ContentType="application/xml"/>' +
  `<Override PartName="/xl/workbook.xml" ContentType="${CT}.sheet.main+xml"/>` +
  `<Override PartName="/xl/worksheets/sheet1.xml" ContentType="${CT}.worksheet+xml"/>` +
  `<Override PartName="/xl/worksheets/sheet2.xml" ContentType="${CT}.worksheet+xml"/>` +
  `<Override PartName="/xl/styles.xml" ContentType="${CT}.styles+xml"/>` +
  '</Types>';

const ROOT_RELS =
  `${XML_HEAD}<Relationships xmlns="${NS_PKG_REL}">` +
  `<Relationship Id="rId1" Type="${NS_REL}/officeDocument" Target="xl/workbook.xml"/>` +
  '</Relationships>';

const WORKBOOK_RELS =
  `${XML_HEAD}<Relationships xmlns="${NS_PKG_REL}">` +
  `<Relationship Id="rId1" Type="${NS_REL}/worksheet" Target="worksheets/sheet1.xml"/>` +
  `<Relationship Id="rId2" Type="${NS_REL}/worksheet" Target="worksheets/sheet2.xml"/>` +
  `<Relationship Id="rId3" Type="${NS_REL}/styles" Target="styles.xml"/>` +
  '</Relationships>';

/** Styles: 0 default, 1 bold (headers, meta names), 2 date and time, 3 date. */
const STYLES =
  `${XML_HEAD}<styleSheet xmlns="${NS_MAIN}">` +
  '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/>' +
  '<numFmt numFmtId="165" formatCode="yyyy-mm-dd"/></numFmts>' +
  '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>' +
  '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>' +
  '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>' +
  '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>' +
  '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>' +
  '<cellXfs count="4">' +
  '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>' +
  '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>' +
  '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>' +
  '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>' +
  '</cellXfs>' +
  '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>' +
  '</styleSheet>';

function workbookXml([data, about]: [string, string], filterRef: string | undefined): string {
  const filter = filterRef
    ? '<definedNames><definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">' +
      `${xmlText(`'${data.replaceAll("'", "''")}'!${filterRef}`)}</definedName></definedNames>`
    : '';
  return (
    `${XML_HEAD}<workbook xmlns="${NS_MAIN}" xmlns:r="${NS_REL}">` +
    '<bookViews><workbookView activeTab="0"/></bookViews>' +
    `<sheets><sheet name="${xmlText(data)}" sheetId="1" r:id="rId1"/>` +
    `<sheet name="${xmlText(about)}" sheetId="2" r:id="rId2"/></sheets>` +
    filter +
    '</workbook>'
  );
}

// ---- ZIP ----------------------------------------------------------------------------------------------------

interface ZipEntry {
  name: string;
  data: Buffer;
}

/** 1980-01-01 00:00:00 in MS-DOS format (the earliest date a ZIP can hold): fixed, so output is deterministic. */
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
/** General purpose flag bit 11: the file name is UTF-8. */
const FLAG_UTF8 = 0x0800;
const METHOD_DEFLATE = 8;
/** Version 2.0: deflate. */
const VERSION = 20;
const MAX_U32 = 0xffff_ffff;

/** A ZIP archive (PKWARE APPNOTE 6.3.x, no ZIP64) of deflated entries. */
function zip(entries: ZipEntry[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = utf8(entry.name);
    const compressed = deflateRawSync(entry.data);
    const crc = crc32(entry.data);
    if (entry.data.length > MAX_U32 || compressed.length > MAX_U32 || offset > MAX_U32)
      throw tooLarge(`${entry.name} exceeds 4 GiB`);

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(VERSION, 4);
    local.writeUInt16LE(FLAG_UTF8, 6);
    local.writeUInt16LE(METHOD_DEFLATE, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);

    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(VERSION, 4); // made by: MS-DOS, 2.0
    header.writeUInt16LE(VERSION, 6); // needed to extract
    header.writeUInt16LE(FLAG_UTF8, 8);
    header.writeUInt16LE(METHOD_DEFLATE, 10);
    header.writeUInt16LE(DOS_TIME, 12);
    header.writeUInt16LE(DOS_DATE, 14);
    header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(compressed.length, 20);
    header.writeUInt32LE(entry.data.length, 24);
    header.writeUInt16LE(name.length, 28);
    header.writeUInt16LE(0, 30); // extra field length
    header.writeUInt16LE(0, 32); // comment length
    header.writeUInt16LE(0, 34); // disk number start
    header.writeUInt16LE(0, 36); // internal attributes
    header.writeUInt32LE(0, 38); // external attributes
    header.writeUInt32LE(offset, 42);

    parts.push(local, name, compressed);
    central.push(header, name);
    offset += local.length + name.length + compressed.length;
  }
  const centralSize = central.reduce((n, b) => n + b.length, 0);
  if (offset > MAX_U32 || centralSize > MAX_U32) throw tooLarge('the archive exceeds 4 GiB');
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0, 4); // this disk
  end.writeUInt16LE(0, 6); // disk with the central directory
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(0, 20); // comment length
  return Buffer.concat([...parts, ...central, end]);
}
