/** A loopback port free at the time of asking, for a service a test starts (the hub's own helper). */
export { freePort } from '../../hub/registry.js';
