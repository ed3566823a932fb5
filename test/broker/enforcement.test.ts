import { brokerEnforcement } from './enforcement-suite.js';

// Issue 21 item 1 on the local backend (the Slurm conformance test runs the same suite).
brokerEnforcement('local', {}, true);
