# Alerts an operator can act on. Each policy's documentation says what happened and what to
# do, with links that open the right console page (logs, subscription, scheduler, sheet).
#
#   sync run failed              log metric supportsync/run_failed (event=run_failed)
#   source not syncing           no run_completed of a source for two schedule periods
#   dead-letter backlog          batches waiting on dead-letter-replay
#   deletions held               log metric supportsync/deletions_held (event=deletions_held)
#   function cannot start        log metric supportsync/function_start_failed (bad config or secret)
#   sync request stuck           oldest unacked sync request older than an hour
#   widget publish dead-lettered a completed run publish gave up on (widgets show older data)
#
# A new log-based metric can stay unknown to Monitoring for up to 10 minutes, and a policy
# created on it in the meantime fails with 404 "Cannot find metric(s)"
# (terraform-provider-google #11102): the policies on log metrics wait for
# time_sleep.log_metrics, which runs alongside the function builds.

locals {
  # The deployed functions (their Cloud Run services carry the same names).
  alert_functions = ["fetchtickets", "fetchchats", "process", "publish", "widgetapi"]
  # Push subscriptions that carry sync requests to the fetch functions (module arguments in
  # functions.tf), and the dead-letter pull subscription.
  sync_subscriptions        = ["sync-tickets-fetchtickets", "sync-chats-fetchchats"]
  dead_letter_subscription  = "dead-letter-replay"
  notification_channels     = google_monitoring_notification_channel.email[*].id
  function_service_selector = "resource.labels.service_name=(${join(" OR ", [for f in local.alert_functions : "\"${f}\""])})"

  # Incremental schedule period in hours ("M */N * * *" -> N, "M * * * *" -> 1, else a day);
  # "not syncing" fires after two periods without a completed run (Monitoring's absence
  # conditions allow at most 23.5 hours).
  schedule_hours = (
    can(regex("^[0-9]+ \\*/([0-9]+) \\* \\* \\*$", trimspace(var.schedule))) ? tonumber(regex("^[0-9]+ \\*/([0-9]+) \\* \\* \\*$", trimspace(var.schedule))[0]) :
    can(regex("^[0-9]+ \\* \\* \\* \\*$", trimspace(var.schedule))) ? 1 : 24
  )
  stale_seconds = min(2 * local.schedule_hours * 3600, 84600)

  # Console pages the documentation links to (urlencode writes a space as "+", which the Logs
  # Explorer would read literally; a "+" in the query itself is already %2B).
  console           = "https://console.cloud.google.com"
  project_query     = "?project=${var.project_id}"
  scheduler_url     = "${local.console}/cloudscheduler${local.project_query}"
  dead_letter_url   = "${local.console}/cloudpubsub/subscription/detail/${local.dead_letter_subscription}${local.project_query}"
  subscriptions_url = "${local.console}/cloudpubsub/subscription/list${local.project_query}"
  functions_url     = "${local.console}/functions/list${local.project_query}"
  secrets_url       = "${local.console}/security/secret-manager${local.project_query}"
  sheet_url         = "https://docs.google.com/spreadsheets/d/${var.spreadsheet_id}/edit"
  logs_url          = { for k, q in local.log_queries : k => "${local.console}/logs/query;query=${replace(urlencode(q), "+", "%20")};duration=P1D${local.project_query}" }

  # The log queries behind the metrics (also what the documentation links open).
  log_queries = {
    run_failed            = "resource.type=\"cloud_run_revision\" AND severity>=ERROR AND jsonPayload.event=\"run_failed\""
    run_completed         = "resource.type=\"cloud_run_revision\" AND jsonPayload.event=\"run_completed\""
    deletions_held        = "resource.type=\"cloud_run_revision\" AND jsonPayload.event=\"deletions_held\""
    function_start_failed = "resource.type=\"cloud_run_revision\" AND ${local.function_service_selector} AND ((textPayload:\"Function error\" AND (textPayload:\"configuration:\" OR textPayload:\"secretmanager\" OR textPayload:\"secrets:\" OR textPayload:\"NewClient\" OR textPayload:\"NewService\")) OR textPayload:\"Container called exit\" OR textPayload:\"failed to start and listen\")"
    fetch_logs            = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=(\"fetchtickets\" OR \"fetchchats\")"
    publish_failed        = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"publish\" AND jsonPayload.event=\"publish_failed\""
  }

  # Log-based metrics: name -> query and the label read from each entry.
  log_metrics = {
    run_failed = {
      description = "supportsync sync runs that failed (event=run_failed)."
      query       = local.log_queries.run_failed
      label       = "source"
      extractor   = "EXTRACT(jsonPayload.source)"
    }
    run_completed = {
      description = "supportsync sync runs that completed (event=run_completed)."
      query       = local.log_queries.run_completed
      label       = "source"
      extractor   = "EXTRACT(jsonPayload.source)"
    }
    deletions_held = {
      description = "Full runs whose deletions the mass-deletion guard held (event=deletions_held)."
      query       = local.log_queries.deletions_held
      label       = "source"
      extractor   = "EXTRACT(jsonPayload.source)"
    }
    function_start_failed = {
      description = "supportsync functions that could not build their service (bad configuration or secret) or whose container did not start."
      query       = local.log_queries.function_start_failed
      label       = "function"
      extractor   = "EXTRACT(resource.labels.service_name)"
    }
  }
}

resource "google_monitoring_notification_channel" "email" {
  count = var.alert_email == "" ? 0 : 1

  project      = var.project_id
  display_name = "supportsync alerts"
  type         = "email"
  labels = {
    email_address = var.alert_email
  }

  depends_on = [google_project_service.this]
}

resource "google_logging_metric" "this" {
  for_each = local.log_metrics

  project     = var.project_id
  name        = "supportsync/${each.key}"
  description = each.value.description
  filter      = each.value.query

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"

    labels {
      key         = each.value.label
      value_type  = "STRING"
      description = "The ${each.value.label} of the log entry."
    }
  }

  label_extractors = {
    (each.value.label) = each.value.extractor
  }

  depends_on = [google_project_service.this]
}

# Alert policies on the metrics above wait until Monitoring knows them.
resource "time_sleep" "log_metrics" {
  create_duration = var.log_metric_propagation_wait

  triggers = {
    metrics = join(",", sort([for m in google_logging_metric.this : m.name]))
  }
}

resource "google_monitoring_alert_policy" "run_failed" {
  project               = var.project_id
  display_name          = "supportsync: sync run failed"
  combiner              = "OR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "run_failed logged"

    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.this["run_failed"].name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    links {
      display_name = "run_failed logs"
      url          = local.logs_url["run_failed"]
    }
    subject = "supportsync: a sync run failed"
    content = <<-EOT
      A supportsync run failed. The sheet keeps its last good data and the cursor did not move, so
      the next scheduled run starts over from the same point; nothing is lost.

      What to do:
      1. Read the error: [run_failed in the logs](${local.logs_url["run_failed"]}) (jsonPayload.error), or the
         Message column of the last `failed` row in [Sync_Log](${local.sheet_url}).
      2. `supportsync status` shows each source's last runs and what is stuck.
      3. 401/403 from HubSpot or LiveChat: a token was revoked or lost a scope; run `supportsync check`
         (it names the missing scope) and rotate the token (README "Rotate a token").
         Sheets 403: share the sheet with the process service account as Editor.
      4. Once fixed, run `supportsync sync --source <source>` or wait for the next schedule.
    EOT
  }

  depends_on = [time_sleep.log_metrics]
}

resource "google_monitoring_alert_policy" "not_syncing" {
  project               = var.project_id
  display_name          = "supportsync: a source is not syncing"
  combiner              = "OR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "no completed run for ${local.stale_seconds / 3600} hours"

    condition_absent {
      filter   = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.this["run_completed"].name}\" AND resource.type=\"cloud_run_revision\""
      duration = "${local.stale_seconds}s"

      aggregations {
        alignment_period     = "600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.source"]
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    links {
      display_name = "Cloud Scheduler jobs"
      url          = local.scheduler_url
    }
    subject = "supportsync: no completed sync for ${local.stale_seconds / 3600} hours"
    content = <<-EOT
      No run of a source (label `source`) has completed for two schedule periods: the sheet is
      getting stale. Runs may be failing, stuck on a lease, or not triggered at all.

      What to do:
      1. Are the schedules running? [Cloud Scheduler](${local.scheduler_url}): the sync-* jobs must be
         Enabled, with recent successful attempts. Resume with `supportsync schedules resume`.
      2. `supportsync status`: a run marked STUCK holds the source's lease; release it with
         `supportsync lease release --source <source>`.
      3. Look for failures: [fetch function logs](${local.logs_url["fetch_logs"]}),
         [run_failed](${local.logs_url["run_failed"]}), and the "sync request stuck" and
         "function cannot start" alerts.
      4. Start a run by hand: `supportsync sync --source <source>`.
    EOT
  }

  depends_on = [time_sleep.log_metrics]
}

resource "google_monitoring_alert_policy" "dead_letter_backlog" {
  project               = var.project_id
  display_name          = "supportsync: batches waiting in dead-letter"
  combiner              = "OR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "undelivered messages on ${local.dead_letter_subscription}"

    condition_threshold {
      filter          = "metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.type=\"pubsub_subscription\" AND resource.label.subscription_id=\"${local.dead_letter_subscription}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "300s"

      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    links {
      display_name = "dead-letter-replay subscription"
      url          = local.dead_letter_url
    }
    subject = "supportsync: raw batches are waiting in dead-letter"
    content = <<-EOT
      Raw batches failed ${var.max_delivery_attempts} deliveries to process and wait on
      [${local.dead_letter_subscription}](${local.dead_letter_url}) (kept 7 days). Their runs cannot
      complete, so the cursor of that source does not move until they land.

      What to do:
      1. Find the cause: [run_failed and process errors](${local.logs_url["run_failed"]}); a renamed or
         moved header column in the sheet, a sheet no longer shared, or a bug (redeploy the fix first).
      2. Look at them without taking them: `supportsync replay --peek`.
      3. Replay them once the cause is fixed: `supportsync replay`. Replaying is safe (upserts by key);
         a batch that is still bad is dead-lettered again.
    EOT
  }

  depends_on = [google_project_service.this]
}

resource "google_monitoring_alert_policy" "deletions_held" {
  project               = var.project_id
  display_name          = "supportsync: deletions held"
  combiner              = "OR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "deletions_held logged"

    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.this["deletions_held"].name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    links {
      display_name = "Sync_Log (the spreadsheet)"
      url          = local.sheet_url
    }
    subject = "supportsync: a full sync would have deleted many rows"
    content = <<-EOT
      A full run would have removed more than 10% of a tab's rows (and more than 50) and removed none
      of them: its Sync_Log row has Status `held` and the count. This guards against a token that
      lost access or a shorter plan history wiping the sheet.

      What to do:
      1. Read the held run's message in [Sync_Log](${local.sheet_url}) or in
         [the logs](${local.logs_url["deletions_held"]}).
      2. Check the account: did those tickets or chats really go (deleted, archived, merged)? Run
         `supportsync check`: a token that lost a scope is named there.
      3. If the deletions are right, apply them:
         `supportsync sync --source <source> --mode full --allow-deletions`.
         If not, fix the token or account and leave the rows; nothing was removed.
    EOT
  }

  depends_on = [time_sleep.log_metrics]
}

resource "google_monitoring_alert_policy" "function_start_failed" {
  project               = var.project_id
  display_name          = "supportsync: a function cannot start"
  combiner              = "OR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "configuration, secret or container start error"

    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.this["function_start_failed"].name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    links {
      display_name = "function start errors"
      url          = local.logs_url["function_start_failed"]
    }
    subject = "supportsync: a function fails before it runs"
    content = <<-EOT
      A function (label `function`) fails before it does any work: its configuration is invalid, a
      secret cannot be read, or its container does not start. Such failures log no run_failed, and
      Pub/Sub keeps retrying the request for a day before dropping it.

      What to do:
      1. Read the error in [the logs](${local.logs_url["function_start_failed"]}): it names every bad
         variable at once ("configuration: …") or the secret that could not be read.
      2. A variable: fix it in terraform.tfvars and `terraform apply`. A secret: check it in
         [Secret Manager](${local.secrets_url}); rotate it as in README "Rotate a token".
      3. See the function's revisions in [Cloud Functions](${local.functions_url}); roll back as in
         README "Roll back" if the last deploy broke it.
      4. `supportsync check` tests the configuration, every token scope and the sheet in one go.
    EOT
  }

  depends_on = [time_sleep.log_metrics]
}

resource "google_monitoring_alert_policy" "sync_request_stuck" {
  project               = var.project_id
  display_name          = "supportsync: sync request unacknowledged for an hour"
  combiner              = "OR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "oldest unacked sync request > 1 h"

    condition_threshold {
      filter          = "metric.type=\"pubsub.googleapis.com/subscription/oldest_unacked_message_age\" AND resource.type=\"pubsub_subscription\" AND resource.label.subscription_id=one_of(${join(", ", [for s in local.sync_subscriptions : "\"${s}\""])})"
      comparison      = "COMPARISON_GT"
      threshold_value = 3600
      duration        = "300s"

      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    links {
      display_name = "Pub/Sub subscriptions"
      url          = local.subscriptions_url
    }
    subject = "supportsync: a sync request has been retried for over an hour"
    content = <<-EOT
      A sync request (or a fetch continuation) on one of ${join(", ", local.sync_subscriptions)} has
      not been acknowledged for more than an hour: the fetch function keeps failing on it and Pub/Sub
      keeps retrying. After a day it is dropped.

      What to do:
      1. See the subscription: [Pub/Sub subscriptions](${local.subscriptions_url}).
      2. Read why the fetch fails: [fetch function logs](${local.logs_url["fetch_logs"]}); also see
         the "function cannot start" alert.
      3. `supportsync status` shows the run and its lease; `supportsync check` tests the tokens.
      4. After the fix the retried request succeeds on its own, or run `supportsync sync --source <source>`.
    EOT
  }

  depends_on = [google_project_service.this]
}

resource "google_monitoring_alert_policy" "publish_dead_lettered" {
  project               = var.project_id
  display_name          = "supportsync: widget publish dead-lettered"
  combiner              = "OR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "dead-lettered messages on ${module.publish.subscription}"

    condition_threshold {
      filter          = "metric.type=\"pubsub.googleapis.com/subscription/dead_letter_message_count\" AND resource.type=\"pubsub_subscription\" AND resource.label.subscription_id=\"${module.publish.subscription}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    links {
      display_name = "Cloud Functions"
      url          = local.functions_url
    }
    subject = "supportsync: the widgets show older data (publish gave up)"
    content = <<-EOT
      publish failed ${var.max_delivery_attempts} times on a completed run, so the widgets still
      serve the previous dataset (its as_of says how old). The message waits on
      publish-dead-letter-inspect (kept 7 days); it needs no replay.

      What to do:
      1. Find the cause in [the publish log](${local.logs_url["publish_failed"]}) (event publish_failed):
         the [sheet](${local.sheet_url}) no longer shared with fn-publish (Viewer), a renamed contract
         column in Tickets or Chats, Sheets quota.
      2. Fix it; the next completed run publishes again (or run one: `supportsync sync --source all --mode incremental`).
    EOT
  }

  depends_on = [google_project_service.this]
}
