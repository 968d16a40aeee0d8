package com.example.app;

import com.example.greeting.api.Greeter;
import com.example.greeting.core.FriendlyGreeter;

/** `java -jar java-app.jar [name]` prints a greeting. */
public final class Main {
    private Main() {
    }

    static String run(Greeter greeter, String[] args) {
        return greeter.greet(args.length > 0 ? args[0] : null).text();
    }

    public static void main(String[] args) {
        System.out.println(run(new FriendlyGreeter("Hello"), args));
    }
}
