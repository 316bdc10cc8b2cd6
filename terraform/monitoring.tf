# Alerts: a run that failed (the code logs severity ERROR with jsonPayload.event = "run_failed"),
# a full run whose deletions the mass-deletion guard held (severity WARNING, jsonPayload.event =
# "deletions_held") and a raw batch that was dead-lettered (Pub/Sub's own metric on the process
# subscription).

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

resource "google_logging_metric" "run_failed" {
  project     = var.project_id
  name        = "supportsync/run_failed"
  description = "supportsync sync runs that failed (event=run_failed)."
  filter      = "resource.type=\"cloud_run_revision\" AND severity>=ERROR AND jsonPayload.event=\"run_failed\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"

    labels {
      key         = "source"
      value_type  = "STRING"
      description = "tickets or chats"
    }
  }

  label_extractors = {
    source = "EXTRACT(jsonPayload.source)"
  }

  depends_on = [google_project_service.this]
}

resource "google_monitoring_alert_policy" "run_failed" {
  project               = var.project_id
  display_name          = "supportsync: sync run failed"
  combiner              = "OR"
  notification_channels = google_monitoring_notification_channel.email[*].id

  conditions {
    display_name = "run_failed logged"

    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.run_failed.name}\" AND resource.type=\"cloud_run_revision\""
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
    content   = "A supportsync run failed. Check the function logs (jsonPayload.event=\"run_failed\") and the Sync_Log tab; see terraform/README.md#operations."
  }
}

resource "google_monitoring_alert_policy" "dead_lettered" {
  project               = var.project_id
  display_name          = "supportsync: raw batch dead-lettered"
  combiner              = "OR"
  notification_channels = google_monitoring_notification_channel.email[*].id

  conditions {
    display_name = "dead-lettered messages on ${module.process.subscription}"

    condition_threshold {
      filter          = "metric.type=\"pubsub.googleapis.com/subscription/dead_letter_message_count\" AND resource.type=\"pubsub_subscription\" AND resource.label.subscription_id=\"${module.process.subscription}\""
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
    content   = "A raw batch failed ${var.max_delivery_attempts} deliveries to process and is waiting on subscription dead-letter-replay. Fix the cause, then run `go run ./cmd/supportsync replay`; see terraform/README.md#operations."
  }

  depends_on = [google_project_service.this]
}

resource "google_logging_metric" "deletions_held" {
  project     = var.project_id
  name        = "supportsync/deletions_held"
  description = "supportsync full runs whose deletions the mass-deletion guard held (event=deletions_held)."
  filter      = "resource.type=\"cloud_run_revision\" AND severity>=WARNING AND jsonPayload.event=\"deletions_held\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"

    labels {
      key         = "source"
      value_type  = "STRING"
      description = "tickets or chats"
    }
  }

  label_extractors = {
    source = "EXTRACT(jsonPayload.source)"
  }

  depends_on = [google_project_service.this]
}

resource "google_monitoring_alert_policy" "deletions_held" {
  project               = var.project_id
  display_name          = "supportsync: full-run deletions held"
  combiner              = "OR"
  notification_channels = google_monitoring_notification_channel.email[*].id

  conditions {
    display_name = "deletions_held logged"

    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.deletions_held.name}\" AND resource.type=\"cloud_run_revision\""
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
    content   = "A full sync run did not see many rows the sheet holds (more than 10% of a tab and more than 50) and deleted none of them: the Sync_Log row has Status `held` and the count. If the records really are gone at the source, run `go run ./cmd/supportsync sync --mode full --allow-deletions`; if not (a token that lost access, a shorter plan history), fix the source first. See terraform/README.md#operations."
  }
}
