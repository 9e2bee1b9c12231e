/** Who a Slack account is, as far as zoomjwt's roles care (SPEC §5.5). Pure: Slack's facts come in. */

/** A Slack user-group id (`S…`), as APPROVERS and ADMINS may name one. */
export const isGroupId = (id: string): boolean => id.startsWith('S');

/** What Slack's `users.info` says about a person (the fields we judge). */
export interface SlackUserFacts {
  deleted?: boolean;
  is_bot?: boolean;
  is_restricted?: boolean;
  is_ultra_restricted?: boolean;
  team_id?: string;
  /** Enterprise Grid: the org the account belongs to and the workspaces it is in. */
  enterprise_user?: { enterprise_id?: string; teams?: string[] };
}

/** Where zoomjwt is installed: a workspace and, on Enterprise Grid, its org. */
export interface InstalledIn {
  teamId?: string;
  enterpriseId?: string;
}

/**
 * Why a Slack account is not a full member of the installed workspace, or undefined when it is
 * (SPEC §5.5). On Enterprise Grid `users.info` reports the org (or one fixed workspace) as
 * `team_id`, so membership is judged by `enterprise_user` there: a member of the installed
 * workspace's org counts (the org's members are the installed workspace's people, whichever
 * workspace `team_id` names); someone from another org never does.
 */
export function accountRefusal(user: SlackUserFacts, at: InstalledIn): string | undefined {
  if (user.deleted) return 'your Slack account is deactivated';
  if (user.is_bot) return 'bots cannot act in zoomjwt';
  if (user.is_restricted || user.is_ultra_restricted) return 'guest accounts cannot act in zoomjwt';
  const org = user.enterprise_user?.enterprise_id;
  // A Grid account: its org decides. (A workspace on Grid has its org in auth.test; one that is
  // not on Grid has no org members, only people of other orgs in shared channels.)
  if (org !== undefined && org !== '') return org === at.enterpriseId ? undefined : 'your account belongs to another Enterprise Grid org';
  if (at.teamId && user.team_id && user.team_id !== at.teamId) return 'your account belongs to another workspace';
  return undefined;
}
