import { brokerEndToEnd } from './e2e-suite.js';
import { groupAlive } from './helpers.js';

// The default backend: detached process groups on this machine.
brokerEndToEnd('local', {}, async (ref) => groupAlive(Number(ref)));
