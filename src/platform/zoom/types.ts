/** Shapes of the Zoom Marketplace API as this project uses them (SPEC §3). */

/** An app as listed by `GET /marketplace/apps?type=account_created`. */
export interface ZoomAppSummary {
  app_id: string;
  app_name: string;
  app_type?: string;
  app_status?: string;
  app_developer_type?: string;
  /**
   * Zoom's own usage figures (changelog 2026-11-09), normalised. Absent when the account does not
   * send them (`enable_metrics` false, or an API older than the fields): polling then works as
   * before. Every figure is optional on its own.
   */
  usage?: ZoomAppUsage;
}

/**
 * The usage fields of `GET /marketplace/apps`. Zoom's changelog names them without types; read as:
 * times as ISO 8601 (or epoch seconds/ms, by magnitude) → epoch ms; counts as non-negative integers
 * (or digit strings); `duration` as the days the counts cover; `works_with` as a list of products.
 */
export interface ZoomAppUsage {
  firstUsed?: number;
  lastUsed?: number;
  activeUsers?: number;
  totalCalls?: number;
  failedCalls?: number;
  connections?: number;
  adds?: number;
  durationDays?: number;
  worksWith?: string[];
}

/**
 * `GET /marketplace/apps/{appId}` (fields we use). Every field is optional in Zoom's schema and
 * `app_id` has been seen missing in live answers: the client falls back to the id it asked for.
 */
export interface ZoomAppInfo {
  app_id: string;
  app_name: string;
  app_type?: string;
  app_status?: string;
  app_description?: string;
}

/**
 * One entry of `GET /marketplace/apps/{appId}/api_call_logs`. Every field is optional in Zoom's
 * schema; the client keeps an entry whenever its time can be read (a call with no time cannot be
 * placed in any window) and counts the others as unreadable.
 */
export interface ZoomCallLog {
  url_pattern?: string;
  /** Epoch milliseconds, as a digit string (the client converts seconds, recognised by magnitude). */
  time: string;
  /** Absent when Zoom gave none (counted in the `other` status class). */
  http_status?: number;
  method?: string;
  /** Absent when Zoom gave none: the entry is then deduplicated by a fingerprint. */
  trace_id?: string;
}

export type LogDuration = 7 | 14 | 30;

export interface CallLogPage {
  entries: ZoomCallLog[];
  /** Empty string when there is no further page. */
  nextPageToken: string;
  /** Entries of this page dropped as unreadable (no readable time, not an object, …). */
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
