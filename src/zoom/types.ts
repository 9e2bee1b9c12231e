/** Shapes of the Zoom Marketplace API as this project uses them (SPEC §3). */

/** An app as listed by `GET /marketplace/apps?type=account_created`. */
export interface ZoomAppSummary {
  app_id: string;
  app_name: string;
  app_type?: string;
  app_status?: string;
  app_developer_type?: string;
}

/** `GET /marketplace/apps/{appId}` (fields we use). */
export interface ZoomAppInfo {
  app_id: string;
  app_name: string;
  app_type?: string;
  app_status?: string;
  app_description?: string;
}

/** One entry of `GET /marketplace/apps/{appId}/api_call_logs`. */
export interface ZoomCallLog {
  url_pattern: string;
  /** Epoch milliseconds, as a string. */
  time: string;
  http_status: number;
  method: string;
  trace_id: string;
}

export type LogDuration = 7 | 14 | 30;

export interface CallLogPage {
  entries: ZoomCallLog[];
  /** Empty string when there is no further page. */
  nextPageToken: string;
  /** Entries of this page dropped as unreadable (missing trace_id, non-numeric time, …). */
  skipped?: number;
}

/** One Zoom account's API, as the rest of the code sees it. */
export interface ZoomApi {
  readonly account: string;
  /** All apps created by the account (paginated internally, page_size 300). */
  listApps(): Promise<ZoomAppSummary[]>;
  /** `null` when Zoom answers 404 / code 1401 (the app does not exist). */
  getApp(appId: string): Promise<ZoomAppInfo | null>;
  listCallLogs(
    appId: string,
    options: { duration: LogDuration; pageSize: number; nextPageToken?: string },
  ): Promise<CallLogPage>;
  /** Permanently deletes the app. 2xx → 'deleted'; 404/1401 → 'already_gone'. */
  deleteApp(appId: string): Promise<'deleted' | 'already_gone'>;
}
