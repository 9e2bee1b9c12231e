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

export type ActionId = (typeof ACTION)[keyof typeof ACTION];
