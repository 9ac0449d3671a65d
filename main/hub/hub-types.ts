// The hub server's wire types the desktop uses, taken from the hub's own operations table so the
// two programs cannot drift apart (types only: nothing of the server is loaded).
import type { HubRequest, HubResponse, Visibility } from '../../hub/contract.js';

/** A publish as the hub takes it. */
export type HubPublishRequest = HubRequest<'publish'>;
/** Who may see a name, as the hub stores it. */
export type HubVisibility = Visibility;
/** One published version as the hub answers it. */
export type HubRecord = HubResponse<'getVersion'>;
/** One page of the hub's change feed. */
export type HubChangesPage = HubResponse<'changes'>;
