variable "project_id" {
  description = "Google Cloud project id to deploy into."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project id (6-30 lowercase letters, digits, hyphens)."
  }
}

variable "region" {
  description = "Region for the functions, the scheduler jobs and the source bucket."
  type        = string
  default     = "northamerica-northeast1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a region name such as northamerica-northeast1."
  }
}

variable "firestore_location" {
  description = "Location of the (default) Firestore database (a region or nam5/eur3); null uses region. Cannot change after creation."
  type        = string
  default     = null
}

variable "spreadsheet_id" {
  description = "Id of the Google Sheets spreadsheet (the long token in its URL). Share it with the process service account (output process_service_account_email) as Editor."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{20,}$", var.spreadsheet_id))
    error_message = "spreadsheet_id must be the id from the spreadsheet URL, not the URL."
  }
}

variable "hubspot_token" {
  description = "HubSpot private app access token (scopes: see README \"API access\"). Stored in Secret Manager as hubspot-token; write-only, never in the plan or the state."
  type        = string
  sensitive   = true
  ephemeral   = true

  validation {
    condition     = length(trimspace(var.hubspot_token)) > 0
    error_message = "hubspot_token must not be empty."
  }
}

variable "hubspot_api_base_url" {
  description = "HubSpot API base URL."
  type        = string
  default     = "https://api.hubapi.com"

  validation {
    condition     = startswith(var.hubspot_api_base_url, "https://")
    error_message = "hubspot_api_base_url must be an https URL."
  }
}

variable "hubspot_rate_per_10s" {
  description = "Client-side cap on HubSpot requests per 10 seconds (private apps: 100 on Free/Starter, 190 on Pro/Enterprise; keep headroom for other apps)."
  type        = number
  default     = 80

  validation {
    condition     = var.hubspot_rate_per_10s >= 1 && var.hubspot_rate_per_10s <= 250 && floor(var.hubspot_rate_per_10s) == var.hubspot_rate_per_10s
    error_message = "hubspot_rate_per_10s must be between 1 and 250."
  }
}

variable "hubspot_search_rate_per_second" {
  description = "Client-side cap on HubSpot search requests per second (HubSpot allows 5 per account)."
  type        = number
  default     = 4

  validation {
    condition     = var.hubspot_search_rate_per_second > 0 && var.hubspot_search_rate_per_second <= 5
    error_message = "hubspot_search_rate_per_second must be in (0, 5]."
  }
}

variable "livechat_account_id" {
  description = "LiveChat account id (the user part of the PAT's Basic auth)."
  type        = string

  validation {
    condition     = length(trimspace(var.livechat_account_id)) > 0
    error_message = "livechat_account_id must not be empty."
  }
}

variable "livechat_pat" {
  description = "LiveChat personal access token (scopes: see README \"API access\"). Stored in Secret Manager as livechat-pat; write-only, never in the plan or the state."
  type        = string
  sensitive   = true
  ephemeral   = true

  validation {
    condition     = length(trimspace(var.livechat_pat)) > 0
    error_message = "livechat_pat must not be empty."
  }
}

variable "livechat_api_base_url" {
  description = "LiveChat API base URL."
  type        = string
  default     = "https://api.livechatinc.com"

  validation {
    condition     = startswith(var.livechat_api_base_url, "https://")
    error_message = "livechat_api_base_url must be an https URL."
  }
}

variable "livechat_rate_per_minute" {
  description = "Client-side cap on LiveChat requests per minute (LiveChat publishes no number; stay polite)."
  type        = number
  default     = 120

  validation {
    condition     = var.livechat_rate_per_minute >= 1 && floor(var.livechat_rate_per_minute) == var.livechat_rate_per_minute
    error_message = "livechat_rate_per_minute must be >= 1."
  }
}

variable "team_config_path" {
  description = "Path (relative to terraform/) of the team YAML (timezone, workdays, members). Stored as secret team-config and mounted at /etc/supportsync/team.yaml."
  type        = string
  default     = "../shared/team/default.yaml"

  validation {
    condition     = fileexists(var.team_config_path)
    error_message = "team_config_path must name an existing file."
  }
}

variable "schedule" {
  description = "Cron schedule of the incremental sync of each source, in time_zone."
  type        = string
  default     = "0 */4 * * *"

  validation {
    condition     = length(split(" ", trimspace(var.schedule))) == 5
    error_message = "schedule must be a 5-field cron expression."
  }
}

variable "full_sync_schedule" {
  description = "Cron schedule of the full sync of each source (reconciles records deleted or archived at the source); empty string disables it."
  type        = string
  default     = "30 2 * * 0"

  validation {
    condition     = var.full_sync_schedule == "" || length(split(" ", trimspace(var.full_sync_schedule))) == 5
    error_message = "full_sync_schedule must be a 5-field cron expression or empty."
  }
}

variable "time_zone" {
  description = "Time zone (tz database name) of the schedules; should match the team config timezone."
  type        = string
  default     = "America/Halifax"

  validation {
    condition     = can(regex("^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$", var.time_zone))
    error_message = "time_zone must be a tz database name such as America/Halifax."
  }
}

variable "retention_days" {
  description = "Rows older than this (by Created / Started) are removed from the sheet at the end of each run."
  type        = number
  default     = 365

  validation {
    condition     = var.retention_days >= 1 && var.retention_days <= 3650 && floor(var.retention_days) == var.retention_days
    error_message = "retention_days must be a whole number between 1 and 3650."
  }
}

variable "lookback_minutes" {
  description = "Incremental runs re-read this many minutes before the cursor (late-indexed records)."
  type        = number
  default     = 15

  validation {
    condition     = var.lookback_minutes >= 0 && var.lookback_minutes <= 1440 && floor(var.lookback_minutes) == var.lookback_minutes
    error_message = "lookback_minutes must be between 0 and 1440."
  }
}

variable "livechat_lookback_hours" {
  description = "Incremental chat runs re-read threads started this many hours before the cursor, so a rating given after a thread ended still lands."
  type        = number
  default     = 48

  validation {
    condition     = var.livechat_lookback_hours >= 0 && var.livechat_lookback_hours <= 720 && floor(var.livechat_lookback_hours) == var.livechat_lookback_hours
    error_message = "livechat_lookback_hours must be a whole number between 0 and 720."
  }
}

variable "fetch_timeout_seconds" {
  description = "Timeout of the fetch functions (event-driven functions: at most 540)."
  type        = number
  default     = 540

  validation {
    condition     = var.fetch_timeout_seconds >= 60 && var.fetch_timeout_seconds <= 540 && floor(var.fetch_timeout_seconds) == var.fetch_timeout_seconds
    error_message = "fetch_timeout_seconds must be between 60 and 540."
  }
}

variable "fetch_budget_seconds" {
  description = "Time a fetch invocation works before it checkpoints and continues in a follow-up message; must stay well below fetch_timeout_seconds."
  type        = number
  default     = 420

  validation {
    condition     = var.fetch_budget_seconds >= 30 && var.fetch_budget_seconds <= 480 && floor(var.fetch_budget_seconds) == var.fetch_budget_seconds
    error_message = "fetch_budget_seconds must be between 30 and 480 (and below fetch_timeout_seconds)."
  }
}

variable "batch_records" {
  description = "Records per raw batch (bounded well under the 10 MB Pub/Sub message limit)."
  type        = number
  default     = 2000

  validation {
    condition     = var.batch_records >= 1 && var.batch_records <= 20000 && floor(var.batch_records) == var.batch_records
    error_message = "batch_records must be between 1 and 20000."
  }
}

variable "batch_seconds" {
  description = "Most seconds a fetched record waits in a pending batch before it is published. Each batch costs 2-3 Sheets writes (60 a minute per service account, both sources together): keep it at 10 or more."
  type        = number
  default     = 20

  validation {
    condition     = var.batch_seconds >= 1 && var.batch_seconds <= 3600 && floor(var.batch_seconds) == var.batch_seconds
    error_message = "batch_seconds must be a whole number between 1 and 3600."
  }
}

variable "lease_minutes" {
  description = "Lease of a run per source in Firestore; an overlapping trigger within it is a no-op."
  type        = number
  default     = 30

  validation {
    condition     = var.lease_minutes >= 10 && var.lease_minutes <= 1440 && floor(var.lease_minutes) == var.lease_minutes
    error_message = "lease_minutes must be a whole number from 10 (longer than one fetch invocation) to 1440."
  }
}

variable "max_delivery_attempts" {
  description = "Deliveries of a raw batch to process before it goes to the dead-letter topic."
  type        = number
  default     = 5

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100 && floor(var.max_delivery_attempts) == var.max_delivery_attempts
    error_message = "max_delivery_attempts must be between 5 and 100 (Pub/Sub limits)."
  }
}

variable "log_level" {
  description = "Log level of the functions."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be debug, info, warn or error."
  }
}

variable "widgetapi_public" {
  description = "Whether the widget API is public (all ingress, allUsers invoker: embeddable in HubSpot and browsers; access is checked by embed tokens and the admin key) or internal and behind IAM."
  type        = bool
  default     = true
}

variable "alert_email" {
  description = "E-mail that receives alerts for failed runs and dead-lettered batches; empty = alerts only in the console."
  type        = string
  default     = ""

  validation {
    condition     = var.alert_email == "" || can(regex("^[^@\\s]+@[^@\\s]+$", var.alert_email))
    error_message = "alert_email must be an e-mail address or empty."
  }
}

variable "dist_dir" {
  description = "Folder (relative to terraform/) where `supportsync package` wrote functions/<name>/."
  type        = string
  default     = "../dist"
}

variable "hubspot_token_version" {
  description = "Raise by one to store a new hubspot_token: the token is write-only (never in the state), so Terraform cannot see that it changed."
  type        = number
  default     = 1

  validation {
    condition     = var.hubspot_token_version >= 1 && floor(var.hubspot_token_version) == var.hubspot_token_version
    error_message = "hubspot_token_version must be a whole number >= 1."
  }
}

variable "livechat_pat_version" {
  description = "Raise by one to store a new livechat_pat: the token is write-only (never in the state), so Terraform cannot see that it changed."
  type        = number
  default     = 1

  validation {
    condition     = var.livechat_pat_version >= 1 && floor(var.livechat_pat_version) == var.livechat_pat_version
    error_message = "livechat_pat_version must be a whole number >= 1."
  }
}

variable "schedules_paused" {
  description = "Create the Cloud Scheduler jobs paused (default). They start when `supportsync check --resume-schedules` has passed every check (the sheet is shared, the tokens work); set false only where that is already true. Terraform ignores the jobs' paused state after creation, so pause/resume by hand is not undone by an apply."
  type        = bool
  default     = true
}

variable "iam_propagation_wait" {
  description = "How long the functions wait after the build and push grants are made (IAM is eventually consistent)."
  type        = string
  default     = "60s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.iam_propagation_wait))
    error_message = "iam_propagation_wait must be a number of seconds such as \"60s\"."
  }
}

variable "log_metric_propagation_wait" {
  description = "How long alert policies wait after their log-based metrics are created: a new metric can be unknown to Monitoring for up to 10 minutes (404 \"Cannot find metric(s)\", terraform-provider-google #11102). Runs alongside the function builds."
  type        = string
  default     = "600s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.log_metric_propagation_wait))
    error_message = "log_metric_propagation_wait must be a number of seconds such as \"600s\"."
  }
}

variable "source_archive_retention_days" {
  description = "Days a replaced function source archive is kept (as a noncurrent object version) before it is deleted. The live archives are never deleted."
  type        = number
  default     = 90

  validation {
    condition     = var.source_archive_retention_days >= 1 && floor(var.source_archive_retention_days) == var.source_archive_retention_days
    error_message = "source_archive_retention_days must be a whole number >= 1."
  }
}

variable "operators" {
  description = "Members (user:…, group:…) who run the supportsync CLI against this project: they get Token Creator on the process function's account, so `supportsync check` can read the sheet as it. They also need Firestore, Pub/Sub and Cloud Scheduler access of their own (e.g. Editor)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.operators : can(regex("^(user|group|serviceAccount|domain):[^\\s]+$", m))])
    error_message = "operators must be IAM members such as user:alice@example.com or group:support-ops@example.com."
  }
}

variable "widgetapi_admin_key" {
  description = "widgetapi admin key (at least 32 characters; e.g. openssl rand -hex 32): Authorization: Bearer <key> reads every widget and the status and mints embed tokens. Stored in Secret Manager as widgetapi-admin-key; write-only, never in the plan or the state."
  type        = string
  sensitive   = true
  ephemeral   = true

  validation {
    condition     = length(var.widgetapi_admin_key) >= 32
    error_message = "widgetapi_admin_key must be at least 32 characters."
  }
}

variable "widgetapi_admin_key_version" {
  description = "Raise by one to store a new widgetapi_admin_key: the key is write-only (never in the state), so Terraform cannot see that it changed."
  type        = number
  default     = 1

  validation {
    condition     = var.widgetapi_admin_key_version >= 1 && floor(var.widgetapi_admin_key_version) == var.widgetapi_admin_key_version
    error_message = "widgetapi_admin_key_version must be a whole number >= 1."
  }
}

variable "widgetapi_signing_keys" {
  description = "Embed-token signing keys, id:secret[,id:secret...] with secrets of at least 32 characters; the first signs new tokens and all verify (rotate by putting a new key first). Stored in Secret Manager as widgetapi-signing-keys; write-only, never in the plan or the state."
  type        = string
  sensitive   = true
  ephemeral   = true

  validation {
    condition     = length([for k in split(",", var.widgetapi_signing_keys) : k if !can(regex("^[A-Za-z0-9_-]{1,32}:.{32,}$", trimspace(k)))]) == 0
    error_message = "widgetapi_signing_keys must be id:secret[,id:secret...] with secrets of at least 32 characters."
  }
}

variable "widgetapi_signing_keys_version" {
  description = "Raise by one to store new widgetapi_signing_keys: the keys are write-only (never in the state), so Terraform cannot see that they changed."
  type        = number
  default     = 1

  validation {
    condition     = var.widgetapi_signing_keys_version >= 1 && floor(var.widgetapi_signing_keys_version) == var.widgetapi_signing_keys_version
    error_message = "widgetapi_signing_keys_version must be a whole number >= 1."
  }
}

variable "widgetapi_allowed_origins" {
  description = "Browser origins allowed to call widgetapi from scripts (CORS), e.g. [\"https://app.hubspot.com\"]; iframes need none."
  type        = list(string)
  default     = []

  validation {
    condition     = length([for o in var.widgetapi_allowed_origins : o if !can(regex("^https?://[^/]+$", o))]) == 0
    error_message = "widgetapi_allowed_origins must be origins like https://app.hubspot.com (no path)."
  }
}

variable "widgetapi_frame_ancestors" {
  description = "Origins allowed to frame the widget pages (CSP frame-ancestors) besides the widget host; HubSpot's app hosts by default."
  type        = list(string)
  default     = ["https://app.hubspot.com", "https://app-eu1.hubspot.com"]

  validation {
    condition     = length([for o in var.widgetapi_frame_ancestors : o if !can(regex("^https?://[^/]+$", o))]) == 0
    error_message = "widgetapi_frame_ancestors must be origins like https://app.hubspot.com (no path)."
  }
}

variable "widgetapi_stale_minutes" {
  description = "The status reports a source stale when its last completed sync is older than this many minutes."
  type        = number
  default     = 180

  validation {
    condition     = var.widgetapi_stale_minutes >= 5 && var.widgetapi_stale_minutes <= 10080
    error_message = "widgetapi_stale_minutes must be between 5 and 10080."
  }
}

variable "ask_backend" {
  description = "Model behind POST /api/v1/ask on widgetapi: \"off\" (ask answers 503 and the dashboard hides its box), \"vertex\" (Vertex AI with widgetapi's own service account: roles/aiplatform.user, no key) or \"gemini_api\" (the Gemini API with gemini_api_key, stored in Secret Manager)."
  type        = string
  default     = "off"

  validation {
    condition     = contains(["off", "vertex", "gemini_api"], var.ask_backend)
    error_message = "ask_backend must be off, vertex or gemini_api."
  }
}

variable "ask_vertex_location" {
  description = "Vertex AI location of the ask model (ask_backend = \"vertex\")."
  type        = string
  default     = "us-central1"

  validation {
    condition     = can(regex("^(global|[a-z]+-[a-z]+[0-9]+)$", var.ask_vertex_location))
    error_message = "ask_vertex_location must be a location such as us-central1 or global."
  }
}

variable "ask_model" {
  description = "Model name of ask (a current Flash model by default)."
  type        = string
  default     = "gemini-2.5-flash"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$", var.ask_model))
    error_message = "ask_model must be a model name such as gemini-2.5-flash."
  }
}

variable "ask_daily_requests" {
  description = "Questions ask accepts per UTC day, across every widgetapi instance; then 429."
  type        = number
  default     = 500

  validation {
    condition     = var.ask_daily_requests >= 1 && var.ask_daily_requests <= 1000000 && floor(var.ask_daily_requests) == var.ask_daily_requests
    error_message = "ask_daily_requests must be a whole number from 1 to 1000000."
  }
}

variable "ask_daily_tokens" {
  description = "Model tokens ask may spend per UTC day, across every widgetapi instance; then 429."
  type        = number
  default     = 2000000

  validation {
    condition     = var.ask_daily_tokens >= 1000 && var.ask_daily_tokens <= 1000000000 && floor(var.ask_daily_tokens) == var.ask_daily_tokens
    error_message = "ask_daily_tokens must be a whole number from 1000 to 1000000000."
  }
}

variable "gemini_api_key" {
  description = "Gemini API key for ask_backend = \"gemini_api\". Stored in Secret Manager as gemini-api-key; write-only, never in the plan or the state."
  type        = string
  default     = null
  sensitive   = true
  ephemeral   = true

  validation {
    condition     = var.gemini_api_key == null || length(trimspace(coalesce(var.gemini_api_key, " "))) > 0
    error_message = "gemini_api_key must not be empty when given."
  }
}

variable "gemini_api_key_version" {
  description = "Raise by one to store a new gemini_api_key: the key is write-only (never in the state), so Terraform cannot see that it changed."
  type        = number
  default     = 1

  validation {
    condition     = var.gemini_api_key_version >= 1 && floor(var.gemini_api_key_version) == var.gemini_api_key_version
    error_message = "gemini_api_key_version must be a whole number >= 1."
  }
}
