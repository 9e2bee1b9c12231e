/**
 * Slack ids shared by the views that draw them and the listeners that handle them (SPEC §7).
 * Outside checks rely on these values: change them only through an issue.
 */
export const COMMAND = '/zoomjwt';

export const ACTION = {
  approve: 'approval_approve',
  reject: 'approval_reject',
  cancel: 'approval_cancel',
  taskDone: 'task_done',
  alertRequestEnable: 'alert_request_enable',
} as const;

/**
 * Ids of the Home tab and the request modals (issue 16). Not part of SPEC §7's contract: the
 * contract ids above stay as they are.
 */
export const REQUEST_ACTION = {
  /** "Request disable / enable / remove" buttons on the app detail; value: the app id. */
  disable: 'request_disable',
  enable: 'request_enable',
  remove: 'request_remove',
} as const;

export const HOME_ACTION = {
  /** The overflow menu of an app row in the Home tab; option value: `<action>:<app id>`. */
  request: 'home_request',
  /** Previous / next page of the app table; value: the page number. */
  pagePrev: 'home_page_prev',
  pageNext: 'home_page_next',
} as const;

/** The request modal's callback id, and its input blocks and elements. */
export const VIEW = { request: 'request_modal' } as const;
export const INPUT = {
  reason: { block: 'reason', element: 'reason_input' },
  confirm: { block: 'confirm_name', element: 'confirm_name_input' },
} as const;
