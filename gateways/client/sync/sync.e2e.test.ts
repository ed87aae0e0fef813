// /sync over real HTTP on the embedded log and PGlite (the default deployment).
import { describeSyncSuite } from './syncSuite.ts';

describeSyncSuite('embedded');
