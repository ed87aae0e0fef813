/** The analytics dashboard's page and bundle, as the HTTP listener serves them (build.ts builds them). */
export {
  createDashboardRouter, DASHBOARD_BUILD_DIR, DASHBOARD_PAGE, DASHBOARD_PREFIX, loadDashboardFiles, type DashboardRouterOptions,
} from './serve.ts';
