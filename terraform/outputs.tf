output "process_service_account_email" {
  description = "Share the spreadsheet with this e-mail as Editor: process writes Sheets as this account."
  value       = module.process.service_account_email
}

output "publish_service_account_email" {
  description = "Share the spreadsheet with this e-mail as Viewer: publish reads Sheets as this account."
  value       = module.publish.service_account_email
}

output "service_account_emails" {
  description = "Runtime service account of each function, plus the push and build identities."
  value = {
    fetchtickets = module.fetchtickets.service_account_email
    fetchchats   = module.fetchchats.service_account_email
    process      = module.process.service_account_email
    publish      = module.publish.service_account_email
    widgetapi    = module.widgetapi.service_account_email
    push         = google_service_account.push.email
    build        = google_service_account.build.email
  }
}

output "function_uris" {
  description = "HTTPS URL of each function (internal ingress; reachable by Pub/Sub push)."
  value = {
    fetchtickets = module.fetchtickets.uri
    fetchchats   = module.fetchchats.uri
    process      = module.process.uri
    publish      = module.publish.uri
    widgetapi    = module.widgetapi.uri
  }
}

output "function_source_hashes" {
  description = "Content hash of each deployed upload folder (compare with `supportsync package`)."
  value = {
    fetchtickets = module.fetchtickets.source_hash
    fetchchats   = module.fetchchats.source_hash
    process      = module.process.source_hash
    publish      = module.publish.source_hash
    widgetapi    = module.widgetapi.source_hash
  }
}

output "topics" {
  description = "Pub/Sub topic names."
  value       = { for name, t in google_pubsub_topic.this : name => t.name }
}

output "subscriptions" {
  description = "Push subscriptions per function and the dead-letter pull subscription used by `supportsync replay`."
  value = {
    fetchtickets       = module.fetchtickets.subscription
    fetchchats         = module.fetchchats.subscription
    process            = module.process.subscription
    publish            = module.publish.subscription
    dead_letter_replay = google_pubsub_subscription.dead_letter_replay.name
  }
}

output "scheduler_jobs" {
  description = "Cloud Scheduler job names (run one by hand with `gcloud scheduler jobs run NAME --location=REGION`)."
  value       = sort(keys(google_cloud_scheduler_job.sync))
}

output "spreadsheet_url" {
  description = "The spreadsheet the sync writes."
  value       = "https://docs.google.com/spreadsheets/d/${var.spreadsheet_id}/edit"
}

output "widgetapi_url" {
  description = "Public URL of the widget API: <url>/api/v1/widgets/{id}?token=… (mint tokens with `supportsync token`)."
  value       = module.widgetapi.uri
}
