// /sync over real HTTP on Kafka and PostgreSQL (the distributed deployment), same suite.
import { describeSyncSuite } from './syncSuite.ts';

describeSyncSuite('distributed');
