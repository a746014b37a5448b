#if GRPC
    import NIOCore
    import NIOPosix

    #if canImport(Glibc)
        import Glibc
    #endif

    /// The threads that serve gRPC subscribers: the transport's event loops, and the executor
    /// the subscribers' writers run on. They run at a lower priority than the replay (nice 19
    /// against its 10), so that subscribers share what the packet path leaves and never take
    /// from it: a subscriber that cannot keep up falls behind and is cut off, instead of slowing
    /// the session for everyone. Live capture runs at normal priority and is ahead of both.
    final class FanOutThreads: TaskExecutor, Sendable {
        let group: MultiThreadedEventLoopGroup

        /// Two threads at most: subscribers are I/O, and more threads would only compete.
        init(threads: Int = min(2, max(1, System.coreCount))) {
            group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
            for loop in group.makeIterator() {
                loop.execute {
                    #if canImport(Glibc)
                        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)  // on Linux: this thread only
                    #endif
                }
            }
        }

        func enqueue(_ job: consuming ExecutorJob) {
            let job = UnownedJob(job)
            group.next().execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
        }

        func shutdown() async { try? await group.shutdownGracefully() }
    }
#endif
