import { TRAINING_ENV } from './training-env';

// Imported before the handlers: their module-scope logger reads the log level when it is created.
Object.assign(process.env, TRAINING_ENV);
