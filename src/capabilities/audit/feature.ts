/**
 * The audit log as a feature: `/zoomjwt audit [app]` (the latest entries, for everyone who may
 * see the status) and, with AUDIT_TOKEN set, the `GET /audit` export (SPEC §5.4; without the
 * token the route does not exist). Which app a query names is the caller's to say: audit does
 * not depend on evidence, which records into it.
 */
import { auditSummaryMrkdwn, escapeMrkdwn, truncate } from '../../kernel/format';
import type { Logger } from '../../log';
import type { Feature } from '../../platform/feature';
import { message, notice, section, slackTime, type SlackMessage } from '../../platform/slack/blocks';
import type { CommandContext } from '../../platform/slack/commands';
import { createAuditRoute } from './route';
import type { AuditLog } from './stores/audit';

/** How many entries `/zoomjwt audit` shows. */
const SHOWN = 15;

export interface AuditFeatureDeps {
  audit: AuditLog;
  log: Logger;
  /** AUDIT_TOKEN; without it there is no export route. */
  token?: string;
  /** The app a query names, by its exact or partial name or id; undefined when none matches. */
  findApp(query: string): Promise<{ appId: string; name: string } | undefined>;
}

export function createAuditFeature(deps: AuditFeatureDeps): Feature {
  async function auditCommand(ctx: CommandContext): Promise<SlackMessage> {
    let appId: string | undefined;
    let label = 'all apps';
    if (ctx.args.trim()) {
      const app = await deps.findApp(ctx.args);
      appId = app ? app.appId : ctx.args.trim();
      label = app ? app.name : appId;
    }
    const entries = await deps.audit.latest(SHOWN, appId ? { appId } : undefined);
    if (entries.length === 0) return notice(`No audit entries for ${escapeMrkdwn(label)}.`);
    const lines = entries.map((e) => `${slackTime(e.at)} · \`${e.type}\` · ${auditSummaryMrkdwn({ ...e, summary: truncate(e.summary, 200) })}`);
    return message(`Latest audit entries for ${escapeMrkdwn(label)}`, [section(`*Audit log — ${escapeMrkdwn(label)}* (newest first)\n${lines.join('\n')}`)]);
  }

  return {
    name: 'audit',
    commands: { audit: auditCommand },
    ...(deps.token ? { routes: { '/audit': createAuditRoute({ audit: deps.audit, token: deps.token, log: deps.log }).handler } } : {}),
  };
}
