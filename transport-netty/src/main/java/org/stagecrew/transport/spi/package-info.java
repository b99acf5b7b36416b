/**
 * The service provider interface of the transport API: {@link
 * org.stagecrew.transport.spi.TransportProvider} is what an implementation registers with {@link
 * java.util.ServiceLoader}. Applications start from {@link org.stagecrew.transport.Transport#open()}
 * instead; nothing here is needed to use a transport.
 */
package org.stagecrew.transport.spi;
