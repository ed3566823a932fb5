export { badRequest, forbidden, isDiskFull, notFound, UwsError } from './errors.js';
export { DEFAULT_JOB_FILES_LIMITS, JobFiles, type JobFilesLimits } from './job-files.js';
export { DEFAULT_LIMITS, type UwsLimits } from './limits.js';
export { FileResultStore, ResultNotFoundError, type ResultStore } from './result-store.js';
export { type UwsRoutesOptions, uwsRoutes } from './routes.js';
export {
  type Caller,
  type CreateJobInput,
  type ListQuery,
  type UwsLogger,
  UwsService,
  type UwsServiceOptions,
} from './service.js';
export {
  ACTIVE_PHASES,
  type ErrorDetail,
  type ErrorSummary,
  FINAL_PHASES,
  isPhase,
  type Job,
  type JobContext,
  JobFailure,
  type JobFailureInit,
  type JobOutcome,
  type JobParameter,
  type JobResult,
  type JobRunner,
  type JobSummary,
  PHASES,
  type Phase,
} from './types.js';
export { jobListXml, jobXml, parametersXml, resultsXml } from './xml.js';
