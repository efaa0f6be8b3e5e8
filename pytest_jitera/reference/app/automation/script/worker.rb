# The worker: a long-running process that keeps a database connection checked out, like a
# Sidekiq process would. It is what makes DROP DATABASE fail with "is being accessed by other
# users" until the workload is scaled down. Run with `bin/rails runner script/worker.rb`.
$stdout.sync = true
interval = Float(ENV.fetch("WORKER_INTERVAL_SECONDS", "5"))
max_loops = Integer(ENV.fetch("WORKER_MAX_LOOPS", "0"))
loops = 0
stop = false
%w[INT TERM].each { |sig| Signal.trap(sig) { stop = true } }

ActiveRecord::Base.connection_pool.with_connection do |conn|
  until stop
    pending = conn.select_value("SELECT count(*) FROM invites WHERE sent_at IS NULL")
    puts "worker heartbeat release=#{Rails.configuration.release} pending_invites=#{pending}"
    loops += 1
    break if max_loops.positive? && loops >= max_loops

    sleep interval
  end
end
