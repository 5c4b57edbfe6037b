/**
 * Alertmanager's receivers: Slack, PagerDuty and email, their credentials from Pulumi secrets. The whole
 * `alertmanager.yaml` is rendered into one Kubernetes Secret (marked secret in the Pulumi state too), which
 * the Alertmanager mounts as its `configSecret`; no credential is in the chart's values, a manifest or an
 * output.
 *
 * Routing: pages (the fast burn-rate alerts) go to PagerDuty when it is configured and continue to the chat
 * and email receiver, which gets every alert; kube-prometheus-stack's always-firing `Watchdog` and its
 * `InfoInhibitor` are dropped.
 */
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import { TARGET_LABELS as L } from "./metrics.js";

export interface ReceiversArgs {
  /** An incoming-webhook URL (a secret: `config.requireSecret("slackWebhook")`) and the channel. */
  readonly slack?: { readonly webhookUrl: pulumi.Input<string>; readonly channel?: string };
  /** A PagerDuty Events API v2 integration (routing) key, as a secret. */
  readonly pagerduty?: { readonly routingKey: pulumi.Input<string> };
  /** Email through an SMTP relay; `password` as a secret. */
  readonly email?: {
    readonly to: string;
    readonly from: string;
    /** `host:port` of the relay, e.g. `smtp.example.com:587`. */
    readonly smarthost: string;
    readonly username?: string;
    readonly password?: pulumi.Input<string>;
  };
}

/** The Secret's key the Alertmanager reads its configuration from. */
export const ALERTMANAGER_CONFIG_KEY = "alertmanager.yaml";

/** Receiver names. */
export const RECEIVERS = { none: "null", notify: "mlops-notify", page: "mlops-page" } as const;

/** The credentials, resolved (what {@link renderAlertmanagerConfig} needs besides the plain settings). */
export interface ReceiverCredentials {
  readonly slackWebhookUrl?: string;
  readonly pagerdutyRoutingKey?: string;
  readonly emailPassword?: string;
}

/** alertmanager.yaml for the receivers given (pure: credentials passed in). */
export function renderAlertmanagerConfig(r: ReceiversArgs, c: ReceiverCredentials): string {
  const notify: Record<string, unknown> = { name: RECEIVERS.notify };
  if (r.slack) {
    notify.slack_configs = [
      {
        api_url: c.slackWebhookUrl,
        ...(r.slack.channel ? { channel: r.slack.channel } : {}),
        send_resolved: true,
        title: '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} {{ .CommonLabels.mlops_endpoint }}',
        text: "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ .Annotations.description }}\n{{ end }}",
      },
    ];
  }
  if (r.email) {
    notify.email_configs = [
      {
        to: r.email.to,
        from: r.email.from,
        smarthost: r.email.smarthost,
        ...(r.email.username ? { auth_username: r.email.username } : {}),
        ...(c.emailPassword !== undefined ? { auth_password: c.emailPassword } : {}),
        require_tls: true,
        send_resolved: true,
      },
    ];
  }
  const hasNotify = r.slack !== undefined || r.email !== undefined;
  const receivers: Record<string, unknown>[] = [{ name: RECEIVERS.none }, ...(hasNotify ? [notify] : [])];
  const routes: Record<string, unknown>[] = [{ receiver: RECEIVERS.none, matchers: ['alertname=~"Watchdog|InfoInhibitor"'] }];
  if (r.pagerduty) {
    receivers.push({
      name: RECEIVERS.page,
      pagerduty_configs: [{ routing_key: c.pagerdutyRoutingKey, send_resolved: true, description: "{{ .CommonAnnotations.summary }}" }],
    });
    routes.push({ receiver: RECEIVERS.page, matchers: ['severity="page"'], continue: hasNotify });
  }
  // An alert that matched a child route is not sent to the parent's receiver: chat and email get their own
  // catch-all route, after the page route, for pages to continue to.
  if (hasNotify) routes.push({ receiver: RECEIVERS.notify });
  const config = {
    route: {
      receiver: hasNotify ? RECEIVERS.notify : RECEIVERS.none,
      group_by: ["alertname", L.stack, L.endpoint, "training_job", "model"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "4h",
      routes,
    },
    // A firing page silences the ticket of the same burn (same alert, endpoint and stack).
    inhibit_rules: [{ source_matchers: ['severity="page"'], target_matchers: ['severity="ticket"'], equal: ["alertname", L.stack, L.endpoint] }],
    receivers,
  };
  return YAML.stringify(config, { lineWidth: 0 });
}

/** The rendered configuration as a secret Output, the credentials resolved inside it. */
export function alertmanagerConfigOutput(r: ReceiversArgs): pulumi.Output<string> {
  return pulumi.secret(
    pulumi
      .all([r.slack?.webhookUrl, r.pagerduty?.routingKey, r.email?.password])
      .apply(([slackWebhookUrl, pagerdutyRoutingKey, emailPassword]) =>
        renderAlertmanagerConfig(r, {
          ...(slackWebhookUrl !== undefined ? { slackWebhookUrl } : {}),
          ...(pagerdutyRoutingKey !== undefined ? { pagerdutyRoutingKey } : {}),
          ...(emailPassword !== undefined ? { emailPassword } : {}),
        }),
      ),
  );
}

/** The Secret the Alertmanager mounts (`alertmanagerSpec.configSecret`). */
export function alertmanagerSecretManifest(name: string, namespace: pulumi.Input<string>, labels: Record<string, string>, config: pulumi.Input<string>) {
  return { apiVersion: "v1", kind: "Secret", metadata: { name, namespace, labels }, type: "Opaque", stringData: { [ALERTMANAGER_CONFIG_KEY]: config } };
}
