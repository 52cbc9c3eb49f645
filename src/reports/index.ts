export { ReportErrors, reportFileName, type Cell, type Report, type ReportColumn } from './table.ts';
export { csvFileName, toCsv } from './csv.ts';
export {
  ABOUT_SHEET,
  MAX_CELL_TEXT,
  columnLetter,
  excelSerial,
  sheetName,
  toXlsx,
  xlsxFileName,
} from './xlsx.ts';
