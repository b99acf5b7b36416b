package org.stagecrew.transport.netty;

import io.netty.channel.Channel;
import io.netty.channel.ChannelProgressivePromise;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GenericFutureListener;
import java.util.concurrent.TimeUnit;

/**
 * The promise of one channel write at a time, reused for the next write once this one completed,
 * so that a write allocates no promise: the channel's outbound buffer reports progress and the
 * outcome through {@link #tryProgress}, {@link #trySuccess()} and {@link #tryFailure}, which call
 * {@link #progressed} and {@link #completed} at once, on the calling thread.
 *
 * <p>Nothing else may observe it: like Netty's {@code VoidChannelPromise}, it takes no listeners
 * and cannot be waited for ({@code addListener}, {@code await}, {@code sync} and {@code get} throw
 * {@link IllegalStateException}), so that no one holds it past its write. It is never cancellable.
 *
 * <p>Event loop only: the channel's outbound buffer completes write promises on its event loop.
 * {@link #reset} arms it for the next write, after {@link #completed} has returned.
 */
abstract class ReusablePromise implements ChannelProgressivePromise {
    private Channel channel;
    private boolean done;
    private Throwable cause;

    /** Arms this promise for one write to {@code ch}; it must not be in use by another write. */
    final ReusablePromise reset(Channel ch) {
        channel = ch;
        done = false;
        cause = null;
        return this;
    }

    /** Bytes of the write, {@code progress} so far, reached the socket. */
    abstract void progressed(long progress);

    /** The write completed: with success if {@code failure} is null. Called once per write. */
    abstract void completed(Throwable failure);

    @Override
    public final Channel channel() {
        return channel;
    }

    @Override
    public final boolean tryProgress(long progress, long total) {
        if (done) {
            return false;
        }
        progressed(progress);
        return true;
    }

    @Override
    public final ChannelProgressivePromise setProgress(long progress, long total) {
        tryProgress(progress, total);
        return this;
    }

    @Override
    public final boolean trySuccess() {
        return complete(null);
    }

    @Override
    public final boolean trySuccess(Void result) {
        return complete(null);
    }

    @Override
    public final boolean tryFailure(Throwable failure) {
        return complete(failure == null ? new NullPointerException("write failed without a cause") : failure);
    }

    private boolean complete(Throwable failure) {
        if (done) {
            return false;
        }
        done = true;
        cause = failure;
        completed(failure);
        return true;
    }

    @Override
    public final ChannelProgressivePromise setSuccess() {
        return setSuccess(null);
    }

    @Override
    public final ChannelProgressivePromise setSuccess(Void result) {
        if (!trySuccess()) {
            throw new IllegalStateException("write promise already complete: " + this);
        }
        return this;
    }

    @Override
    public final ChannelProgressivePromise setFailure(Throwable failure) {
        if (!tryFailure(failure)) {
            throw new IllegalStateException("write promise already complete: " + this, failure);
        }
        return this;
    }

    @Override
    public final boolean setUncancellable() {
        return true;
    }

    @Override
    public final boolean isCancellable() {
        return false;
    }

    @Override
    public final boolean cancel(boolean mayInterruptIfRunning) {
        return false;
    }

    @Override
    public final boolean isCancelled() {
        return false;
    }

    @Override
    public final boolean isDone() {
        return done;
    }

    @Override
    public final boolean isSuccess() {
        return done && cause == null;
    }

    @Override
    public final Throwable cause() {
        return cause;
    }

    @Override
    public final Void getNow() {
        return null;
    }

    @Override
    public final boolean isVoid() {
        return false;
    }

    @Override
    public final ChannelProgressivePromise unvoid() {
        return this;
    }

    private static IllegalStateException observed() {
        return new IllegalStateException("a reused write promise takes no listeners and cannot be waited for");
    }

    @Override
    public final ChannelProgressivePromise addListener(GenericFutureListener<? extends Future<? super Void>> listener) {
        throw observed();
    }

    @Override
    @SafeVarargs
    public final ChannelProgressivePromise addListeners(GenericFutureListener<? extends Future<? super Void>>... listeners) {
        throw observed();
    }

    @Override
    public final ChannelProgressivePromise removeListener(GenericFutureListener<? extends Future<? super Void>> listener) {
        return this;
    }

    @Override
    @SafeVarargs
    public final ChannelProgressivePromise removeListeners(GenericFutureListener<? extends Future<? super Void>>... listeners) {
        return this;
    }

    @Override
    public final ChannelProgressivePromise sync() {
        throw observed();
    }

    @Override
    public final ChannelProgressivePromise syncUninterruptibly() {
        throw observed();
    }

    @Override
    public final ChannelProgressivePromise await() {
        throw observed();
    }

    @Override
    public final ChannelProgressivePromise awaitUninterruptibly() {
        throw observed();
    }

    @Override
    public final boolean await(long timeout, TimeUnit unit) {
        throw observed();
    }

    @Override
    public final boolean await(long timeoutMillis) {
        throw observed();
    }

    @Override
    public final boolean awaitUninterruptibly(long timeout, TimeUnit unit) {
        throw observed();
    }

    @Override
    public final boolean awaitUninterruptibly(long timeoutMillis) {
        throw observed();
    }

    @Override
    public final Void get() {
        throw observed();
    }

    @Override
    public final Void get(long timeout, TimeUnit unit) {
        throw observed();
    }
}
