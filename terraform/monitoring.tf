# Alerts: a run that failed (the code logs severity ERROR with jsonPayload.event = "run_failed")
# and a raw batch that was dead-lettered (Pub/Sub's own metric on the process subscription).

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

# publish gave up on a completed run: the widgets keep serving the previous dataset (stale
# numbers) until a publish succeeds. Pub/Sub's own metric on publish's subscription.
resource "google_monitoring_alert_policy" "publish_dead_lettered" {
  project               = var.project_id
  display_name          = "supportsync: widget publish dead-lettered"
  combiner              = "OR"
  notification_channels = google_monitoring_notification_channel.email[*].id

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
    content   = "publish failed ${var.max_delivery_attempts} times on a completed run (Sheets unreachable, a renamed contract column, …); the widgets still serve the previous dataset. See the publish function's log (event publish_failed); the next completed run publishes again. The message waits on publish-dead-letter-inspect."
  }

  depends_on = [google_project_service.this]
}
