# Admin-only path: the one reader of legacy_reports. Dropping that table in a later release
# breaks this task after a rollback but no user-facing endpoint (runbook Scenario 2).
namespace :admin do
  desc "Summarise legacy reports"
  task legacy_reports: :environment do
    puts "legacy_reports: #{LegacyReport.count} rows"
    LegacyReport.order(:id).limit(10).each { |r| puts "#{r.id}\t#{r.title}" }
  end
end
