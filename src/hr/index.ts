export {
  ImportErrors,
  decideImport,
  getImport,
  importErrors,
  importErrorsCsv,
  maskPersonal,
  listImports,
  readImportFile,
  runImport,
  type ImportReport,
  type ImportRequest,
  type ImportView,
  type ImportDeps,
} from './imports.ts';
export { listSources, findSource, updateSource, ensureSource, type HrSource } from './sources.ts';
export { createPerson, updatePerson, terminatePerson, type PersonInput } from './push.ts';
export { lifecycleQueue, listPersonEvents, LIFECYCLE_QUEUE, type LifecycleEventView } from './lifecycle.ts';
export * from './types.ts';
export { scanDropFolders, dropFolderQueue, DROP_FOLDER_QUEUE, type DropOutcome } from './drop-folder.ts';
