export {
  PeopleErrors,
  getPersonRow,
  listPeople,
  recordOf,
  storedOf,
  viewOf,
  type PeopleQuery,
  type PeoplePage,
  type PersonRow,
  type PersonView,
} from './people.ts';
export {
  DuplicateErrors,
  dismissDuplicate,
  flagDuplicates,
  listDuplicates,
  mergePeople,
  type DuplicateView,
} from './duplicates.ts';
export { renameOffer, acceptRename, RenameErrors } from './rename.ts';
export {
  directReportsOf,
  findPersonId,
  peopleFacts,
  personIdsPage,
  requirePeople,
  type PersonFactsRow,
} from './facts.ts';
