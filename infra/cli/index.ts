export { createProgressBar, type ProgressBar } from './progress.ts';
