// Entry of a publishing thread that encodes CSV lines (text-rows-task.ts). Plain
// JavaScript on purpose: the node and the tests run TypeScript through tsx, and a new
// thread must register tsx itself before it can import the TypeScript task module.
import { register } from 'tsx/esm/api';

register();
await import('./text-rows-task.ts');
