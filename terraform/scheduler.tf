# Cloud Scheduler publishes a sync request per source to sync-<source>. The Cloud Scheduler
# service agent publishes; no extra binding is needed. The jobs start paused: see README
# "Deploy" (the first sync) and `supportsync check --resume-schedules`.

locals {
  sync_jobs = merge(
    {
      for source in ["tickets", "chats"] : "sync-${source}-incremental" => {
        topic    = "sync-${source}"
        schedule = var.schedule
        mode     = "incremental"
      }
    },
    var.full_sync_schedule == "" ? {} : {
      for source in ["tickets", "chats"] : "sync-${source}-full" => {
        topic    = "sync-${source}"
        schedule = var.full_sync_schedule
        mode     = "full"
      }
    },
  )
}

resource "google_cloud_scheduler_job" "sync" {
  for_each = local.sync_jobs

  project     = var.project_id
  region      = var.region
  name        = each.key
  description = "supportsync: ${each.value.mode} sync request to ${each.value.topic}"
  schedule    = each.value.schedule
  time_zone   = var.time_zone
  # Created paused (var.schedules_paused): a scheduled run before the sheet is shared with the
  # process account fails and dead-letters its batches. `supportsync check --resume-schedules`
  # resumes them once every check passes. After creation the paused state belongs to the
  # operators (`supportsync schedules pause|resume`), so an apply never undoes it.
  paused = var.schedules_paused

  lifecycle {
    ignore_changes = [paused]
  }

  retry_config {
    retry_count          = 3
    min_backoff_duration = "10s"
    max_backoff_duration = "300s"
    max_doublings        = 3
  }

  pubsub_target {
    topic_name = google_pubsub_topic.this[each.value.topic].id
    data       = base64encode(jsonencode({ mode = each.value.mode }))
    attributes = { origin = "scheduler" }
  }

  depends_on = [google_project_service.this]
}
