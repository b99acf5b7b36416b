package org.stagecrew.transport.netty;

import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;

/**
 * The behaviour every {@link Transport} promises, written once and run for each {@link IoMode} by a
 * ten-line subclass that names the mode. The contract is written by concern in the chain of abstract
 * classes this one ends ({@link ContractSupport} holds the shared helpers; {@link DeliveryContract},
 * {@link AddressingContract}, {@link LifecycleContract}, {@link BackPressureContract} and {@link
 * SegmentPathContract} each add their {@code @Nested} scenarios), so that a per-mode subclass of
 * this class runs every part and the per-mode wiring stays in one place. A new concern is a new
 * link in the chain, before this class.
 *
 * <p>Every test runs in LOCAL too (which still validates address lengths and reports unknown and
 * busy addresses), but for those about socket files on disk.
 */
abstract class TransportContractTest extends SegmentPathContract {
}
