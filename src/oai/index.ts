export { nodeRecords, type OaiDeps, type Publisher, registerOai } from './routes.js';
