// Entry of the ADQL compile worker thread. Plain JavaScript on purpose: the node and the
// tests run TypeScript through tsx, and a new thread must register tsx itself before it
// can import the TypeScript task module.
import { register } from 'tsx/esm/api';

register();
await import('./compile-task.ts');
