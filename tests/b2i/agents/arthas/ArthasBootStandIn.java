package standin.arthas;

import com.sun.tools.attach.VirtualMachine;

/**
 * Stands in for arthas-boot.jar: it attaches to the JVM whose pid it is given, through the same
 * jdk.attach API Arthas uses, and prints what that JVM runs. Attaching works only as the JVM's
 * own user, and only with a full JDK: exactly what the B2I image must provide.
 */
public final class ArthasBootStandIn {
    private ArthasBootStandIn() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 0 || !args[0].matches("\\d+")) {
            System.out.println("arthas-boot stand-in: give the pid of a JVM");
            System.exit(1);
        }
        VirtualMachine vm = VirtualMachine.attach(args[0]);
        try {
            System.out.println("attached to " + args[0] + " running "
                + vm.getSystemProperties().getProperty("sun.java.command", "?")
                + " as " + System.getProperty("user.name"));
        } finally {
            vm.detach();
        }
    }
}
